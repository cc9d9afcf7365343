package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/repo"
)

// Asking for a backup or a path the repository does not hold is a usage
// error (exit 2) on every command, named on stderr, and changes nothing:
// the restore target is not even created.
func TestUnknownBackupOrPathIsUsageError(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(filepath.Join(src, "d"), 0o755)
	os.WriteFile(filepath.Join(src, "d", "file"), []byte("x"), 0o644)
	os.Symlink("d", filepath.Join(src, "l"))
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src); code != exitOK {
		t.Fatal(e)
	}
	img := filepath.Join(base, "disk.img")
	os.WriteFile(img, []byte(strings.Repeat("block", 1000)), 0o644)
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img); code != exitOK {
		t.Fatal(e)
	}
	target := filepath.Join(base, "target")
	tests := []struct {
		name, wantInErr string
		args            []string
	}{
		{"restore unknown id", "2000-01-01T000000Z", []string{"restore", "--repo", repoPath, "--name", "v", "--id", "2000-01-01T000000Z", "--target", target}},
		{"restore unknown name", "nobody", []string{"restore", "--repo", repoPath, "--name", "nobody", "--target", target}},
		{"restore path that matches nothing", "no/such", []string{"restore", "--repo", repoPath, "--name", "v", "--path", "no/such", "--target", target}},
		{"restore path through a symlink", "l/file", []string{"restore", "--repo", repoPath, "--name", "v", "--path", "l/file", "--target", target}},
		{"restore path of a block backup", "--path", []string{"restore", "--repo", repoPath, "--name", "vm", "--path", "etc", "--target", target}},
		{"verify unknown id", "2000-01-01T000000Z", []string{"verify", "--repo", repoPath, "--name", "v", "--id", "2000-01-01T000000Z"}},
		{"diff unknown id", "2000-01-01T000000Z", []string{"diff", "--repo", repoPath, "--name", "v", "latest", "2000-01-01T000000Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.wantInErr) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d naming %q", code, out, stderr, exitUsage, tt.wantInErr)
			}
			if _, err := os.Lstat(target); !os.IsNotExist(err) {
				t.Fatalf("the target was created: %v", err)
			}
		})
	}
	code, out, e := run(t, "restore", "--repo", repoPath, "--name", "v", "--path", "d/file", "--target", target)
	if code != exitOK || !strings.Contains(out, "restored") {
		t.Fatalf("a path the backup holds: exit %d %s %s", code, out, e)
	}
	if b, err := os.ReadFile(filepath.Join(target, "d", "file")); err != nil || string(b) != "x" {
		t.Fatalf("restored %q %v", b, err)
	}
}

// A restore that fails prints no success line on stdout, for a file tree
// missing a file and for a block backup missing a chunk.
func TestFailedRestorePrintsNoSuccess(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("data"), 0o644)
	repoPath := initTamperRepo(t, filepath.Join(base, "repo"))
	img := filepath.Join(base, "disk.img")
	os.WriteFile(img, []byte(strings.Repeat("chunk", 100000)), 0o644)
	for _, args := range [][]string{
		{"backup", "--repo", repoPath, "--name", "v", "--source", src},
		{"backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img},
	} {
		if code, _, e := run(t, args...); code != exitOK {
			t.Fatal(e)
		}
	}
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Latest("v")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(b.TreePath(), "f")); err != nil {
		t.Fatal(err)
	}
	chunks, _ := filepath.Glob(filepath.Join(r.ChunksDir(), "*", "*"))
	for _, c := range chunks {
		os.Remove(c)
	}
	for _, name := range []string{"v", "vm"} {
		code, out, stderr := run(t, "restore", "--repo", repoPath, "--name", name, "--target", filepath.Join(base, "to-"+name))
		if code != exitFailed || out != "" || stderr == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, nothing on stdout", name, code, out, stderr, exitFailed)
		}
	}
}
