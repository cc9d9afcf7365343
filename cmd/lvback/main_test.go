package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/btrfs/btrfstest"
	"github.com/lvback/lvback/repo"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, &out, &errb)
	if len(args) > 2 && args[0] == "init" && args[1] == "--repo" && code == exitOK {
		btrfstest.DeleteSubvolumesAtCleanup(t, args[2])
	}
	return code, out.String(), errb.String()
}

func TestExitCodesAndOneLineErrors(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	repoPath := initRepo(t, filepath.Join(base, "repo"))

	tests := []struct {
		name string
		args []string
		code int
	}{
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"unknown flag", []string{"backup", "--nope"}, exitUsage},
		{"an argument too many", []string{"list", "--repo", repoPath, "extra"}, exitUsage},
		{"an argument too few", []string{"diff", "--repo", repoPath, "--name", "v", "latest"}, exitUsage},
		{"missing flags", []string{"backup", "--repo", repoPath}, exitUsage},
		{"missing source", []string{"backup", "--repo", repoPath, "--name", "v", "--source", filepath.Join(base, "nope")}, exitUsage},
		{"bad name", []string{"backup", "--repo", repoPath, "--name", "-rf", "--source", src}, exitUsage},
		{"list of a non-repository", []string{"list", "--repo", src}, exitUsage},
		{"remote repository", []string{"backup", "--repo", "sftp:backup@host:/srv/repo", "--name", "v", "--source", src}, exitUsage},
		{"s3 repository without credentials", []string{"list", "--repo", "s3:http://127.0.0.1:1/bucket"}, exitUsage},
		{"bad s3 URL", []string{"list", "--repo", "s3:ftp://host/bucket"}, exitUsage},
		{"file backup to s3", []string{"backup", "--repo", "s3:http://127.0.0.1:1/bucket", "--name", "v", "--source", src}, exitUsage},
		{"backup", []string{"backup", "--repo", repoPath, "--name", "v", "--source", src}, exitOK},
		{"verify", []string{"verify", "--repo", repoPath}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if code != exitOK && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("error is not one line: %q", stderr)
			}
		})
	}
}

func TestLockedRepositoryExitCode(t *testing.T) {
	t.Setenv(repo.LockWaitEnv, "0") // no wait for the exclusive lock
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(src, 0o755)
	r, err := repo.Create(filepath.Join(base, "repo"), repo.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	code, _, stderr := run(t, "backup", "--repo", r.Root, "--name", "v", "--source", src)
	if code != exitLocked || !strings.Contains(stderr, "locked") {
		t.Fatalf("exit %d (%s), want %d", code, stderr, exitLocked)
	}
}

func TestListJSON(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("hello"), 0o644)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	for _, name := range []string{"b-vol", "a-vol", "b-vol"} {
		if code, _, stderr := run(t, "backup", "--repo", repoPath, "--name", name, "--source", src); code != 0 {
			t.Fatal(stderr)
		}
	}
	code, out, _ := run(t, "list", "--repo", repoPath, "--json")
	if code != 0 {
		t.Fatal(code)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("list --json is not JSON: %v\n%s", err, out)
	}
	if len(items) != 3 {
		t.Fatalf("%d items, want 3", len(items))
	}
	for i, it := range items {
		for _, k := range []string{"name", "id", "time", "mode", "complete", "files", "size", "added_bytes", "path"} {
			if _, ok := it[k]; !ok {
				t.Errorf("item %d lacks %q", i, k)
			}
		}
		if it["complete"] != true || it["files"].(float64) != 1 {
			t.Errorf("item %d: %v", i, it)
		}
		if _, err := os.Stat(filepath.Join(it["path"].(string), "f")); err != nil {
			t.Errorf("path of item %d does not hold the tree: %v", i, err)
		}
		if i > 0 && it["time"].(string) < items[i-1]["time"].(string) {
			t.Errorf("not oldest first: %v before %v", items[i-1]["time"], it["time"])
		}
	}
}

func TestDiffCommand(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	os.MkdirAll(src, 0o755)
	for _, n := range []string{"keep", "change", "chmod", "remove"} {
		os.WriteFile(filepath.Join(src, n), []byte(n), 0o644)
	}
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src); code != 0 {
		t.Fatal(e)
	}
	os.WriteFile(filepath.Join(src, "change"), []byte("CHANGED"), 0o644)
	os.Chmod(filepath.Join(src, "chmod"), 0o600)
	os.Remove(filepath.Join(src, "remove"))
	os.WriteFile(filepath.Join(src, "new\nline"), []byte("x"), 0o644)
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src); code != 0 {
		t.Fatal(e)
	}
	_, out, _ := run(t, "list", "--repo", repoPath, "--json")
	var items []struct{ ID string }
	json.Unmarshal([]byte(out), &items)
	code, out, stderr := run(t, "diff", "--repo", repoPath, "--name", "v", items[0].ID, items[1].ID)
	if code != 0 {
		t.Fatal(stderr)
	}
	want := "M . (mtime)\nM change (content, size, mtime)\nM chmod (mode)\n+ new\\nline\n- remove\n"
	if out != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", out, want)
	}
	code, out, _ = run(t, "diff", "--repo", repoPath, "--name", "v", "--json", items[0].ID, items[1].ID)
	var changes []map[string]any
	if err := json.Unmarshal([]byte(out), &changes); code != 0 || err != nil || len(changes) != 5 {
		t.Fatalf("diff --json: %d %v %s", code, err, out)
	}
}

func TestMetricsFile(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("hello"), 0o644)
	mf := filepath.Join(base, "lvback.prom")
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "vol", "--source", src, "--metrics-file", mf); code != 0 {
		t.Fatal(e)
	}
	data, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE lvback_backup_success gauge", `lvback_backup_success{volume="vol"} 1`,
		`lvback_backup_files{volume="vol"} 1`, `lvback_backup_size_bytes{volume="vol"} 5`,
		`lvback_backup_errors{volume="vol"} 0`, `lvback_last_success_timestamp_seconds{volume="vol"} 1.`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics lack %q:\n%s", want, data)
		}
	}
	// a failed run keeps the last success time and reports the failure
	os.RemoveAll(src)
	os.MkdirAll(src, 0o755)
	r, _ := repo.Open(repoPath)
	t.Setenv(repo.LockWaitEnv, "0")
	l, _ := r.Lock()
	code, _, _ := run(t, "backup", "--repo", repoPath, "--name", "vol", "--source", src, "--metrics-file", mf)
	l.Unlock()
	data, _ = os.ReadFile(mf)
	if code != exitLocked || !strings.Contains(string(data), `lvback_backup_success{volume="vol"} 0`) ||
		!strings.Contains(string(data), `lvback_last_success_timestamp_seconds{volume="vol"} 1.`) {
		t.Fatalf("after a failed run (exit %d):\n%s", code, data)
	}
}

func TestBlockModeCommands(t *testing.T) {
	base := t.TempDir()
	img := filepath.Join(base, "disk.img")
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, out, e := run(t, "backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img); code != 0 || !strings.Contains(out, "chunks") {
		t.Fatalf("exit %d: %s %s", code, out, e)
	}
	_, out, _ := run(t, "list", "--repo", repoPath, "--json")
	var items []listItem
	if err := json.Unmarshal([]byte(out), &items); err != nil || len(items) != 1 || items[0].Mode != "blocks" || items[0].Size != 8<<20 ||
		filepath.Base(items[0].Path) != "index.zst" {
		t.Fatalf("list: %v %s", err, out)
	}
	target := filepath.Join(base, "restored.img")
	if code, _, e := run(t, "restore", "--repo", repoPath, "--name", "vm", "--target", target); code != 0 {
		t.Fatal(e)
	}
	got, _ := os.ReadFile(target)
	if !bytes.Equal(got, data) {
		t.Fatal("restored image differs")
	}
	if code, _, e := run(t, "verify", "--repo", repoPath, "--read-data-subset", "50%"); code != 0 {
		t.Fatal(e)
	}
	if code, _, _ := run(t, "backup", "--repo", repoPath, "--name", "vm", "--mode", "raw", "--source", img); code != exitUsage {
		t.Fatalf("--mode raw: exit %d", code)
	}
}
