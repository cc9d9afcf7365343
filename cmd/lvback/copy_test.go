package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/testtree"
)

// listed returns list --json's items of name in repoPath.
func listed(t *testing.T, repoPath, name string) []listItem {
	t.Helper()
	code, out, stderr := run(t, "list", "--repo", repoPath, "--name", name, "--json")
	if code != exitOK {
		t.Fatalf("list: exit %d: %s", code, stderr)
	}
	var items []listItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	return items
}

// inode returns the inode number of path.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// lvOK runs lvback args in this process and fails t unless it exits 0;
// it returns stdout.
func lvOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := run(t, args...)
	if code != exitOK {
		t.Fatalf("lvback %q: exit %d: %s", args, code, stderr)
	}
	return out
}

// File mode between local repositories: the copy equals its backup
// (rsync -anc), a second copy skips it, and the copy of a changed tree's
// backup shares the unchanged files' inodes with the first copy.
func TestCopyFileMode(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	testtree.Create(t, src, testtree.EveryKind(t))
	from, to := initRepo(t, filepath.Join(base, "from")), initRepo(t, filepath.Join(base, "to"))
	lvOK(t, "backup", "--repo", from, "--name", "home", "--source", src, "-q")
	out := lvOK(t, "copy", "--from", from, "--to", to)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "copied home/") {
		t.Errorf("copy printed %q, want one line saying it copied home", out)
	}

	writeFile(t, filepath.Join(src, "small.txt"), "changed\n")
	writeFile(t, filepath.Join(src, "nested/new.txt"), "new\n")
	lvOK(t, "backup", "--repo", from, "--name", "home", "--source", src, "-q")
	out = lvOK(t, "copy", "--from", from, "--to", to, "--name", "home")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "skipped home/") || !strings.Contains(lines[1], "2 files copied") {
		t.Errorf("second copy printed %q; want the first backup skipped, 2 files of the second copied", out)
	}
	a, b := listed(t, from, "home"), listed(t, to, "home")
	if len(b) != 2 || b[0].ID != a[0].ID || b[1].ID != a[1].ID {
		t.Fatalf("the target lists %+v, want the source's two backups", b)
	}
	for i := range a {
		if d := testtree.RsyncDiff(t, a[i].Path, b[i].Path); d != "" {
			t.Errorf("copy %d differs from its backup:\n%s", i, d)
		}
	}
	for _, f := range []string{"big.bin", "sparse.img", "nested/a/b/deep.txt", "hardlink2"} {
		if i0, i1 := inode(t, filepath.Join(b[0].Path, f)), inode(t, filepath.Join(b[1].Path, f)); i0 != i1 {
			t.Errorf("%s: unchanged, but inode %d in the second copy, %d in the first", f, i1, i0)
		}
	}
	if inode(t, filepath.Join(b[0].Path, "small.txt")) == inode(t, filepath.Join(b[1].Path, "small.txt")) {
		t.Error("small.txt changed, yet the second copy has the first copy's inode")
	}
	lvOK(t, "verify", "--repo", to, "-q")
}

// Refused before anything is written, exit 2: an unknown --id, one
// repository as --from and --to (by path or by id), missing flags.
func TestCopyRefusals(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	mkTree(t, src, "a", "b/c")
	from, to := initRepo(t, filepath.Join(base, "from")), initRepo(t, filepath.Join(base, "to"))
	lvOK(t, "backup", "--repo", from, "--name", "home", "--source", src, "-q")
	id := listed(t, from, "home")[0].ID
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown id", []string{"copy", "--from", from, "--to", to, "--id", id + ",2025-01-01T000000Z"}, "2025-01-01T000000Z not found"},
		{"unknown name", []string{"copy", "--from", from, "--to", to, "--name", "nothing"}, "not found"},
		{"same path", []string{"copy", "--from", from, "--to", from}, "two repositories"},
		{"same repository", []string{"copy", "--from", from, "--to", from + "/."}, "same repository"},
		{"no --to", []string{"copy", "--from", from}, "needs --from and --to"},
		{"bad name", []string{"copy", "--from", from, "--to", to, "--name", "-x"}, "invalid volume name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.msg) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q; want %d and one line saying %q", code, stderr, exitUsage, tt.msg)
			}
			if ents, err := os.ReadDir(filepath.Join(to, "backups")); err != nil || len(ents) != 0 {
				t.Errorf("the target holds %v after a refused copy (%v)", ents, err)
			}
		})
	}
}

// run with copy_to copies each new backup there after the backups and
// retention; a copy that fails fails the run (exit 1), in the summary
// and the metrics.
func TestRunCopyTo(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "etc")
	mkTree(t, src, "hosts", "fstab")
	from, to := initRepo(t, filepath.Join(base, "repo")), initRepo(t, filepath.Join(base, "offsite"))
	metrics := filepath.Join(base, "metrics.prom")
	cfgText := `repo = "` + from + `"
copy_to = "%s"
metrics_file = "` + metrics + `"
[retention]
keep_last = 1
[[volume]]
name = "etc"
path = "` + src + `"
`
	cfg := writeConfig(t, base, strings.Replace(cfgText, "%s", to, 1))
	for i := range 2 {
		out := lvOK(t, "run", "--config", cfg, "--json")
		var sum runSummary
		if err := json.Unmarshal([]byte(out), &sum); err != nil || !sum.OK {
			t.Fatalf("run %d: %v %s", i, err, out)
		}
		v := sum.Volumes[0]
		if v.Copy == nil || !v.Copy.OK || v.Copy.Skipped || v.Copy.To != to {
			t.Fatalf("run %d: copy %+v, want the new backup copied to %s", i, v.Copy, to)
		}
		if b := listed(t, to, "etc"); len(b) != i+1 || b[i].ID != v.ID {
			t.Fatalf("run %d: %s holds %+v, want the new backup %s too", i, to, b, v.ID)
		}
	}
	if m, _ := os.ReadFile(metrics); !strings.Contains(string(m), `lvback_copy_success{volume="etc"} 1`) {
		t.Errorf("metrics lack the copy's success:\n%s", m)
	}

	notRepo := filepath.Join(base, "not-a-repo")
	mkTree(t, notRepo, "something")
	cfg = writeConfig(t, base, strings.Replace(cfgText, "%s", notRepo, 1))
	code, out, stderr := run(t, "run", "--config", cfg, "--json")
	var sum runSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != exitFailed || sum.OK {
		t.Fatalf("run with a broken copy_to: exit %d, %v, %s; want %d", code, err, out, exitFailed)
	}
	if v := sum.Volumes[0]; v.OK || v.Copy == nil || v.Copy.OK || !strings.Contains(v.Copy.Error, "not an lvback repository") || v.ID == "" {
		t.Errorf("volume %+v copy %+v; want the backup made and its copy failed", v, v.Copy)
	}
	if !strings.Contains(stderr, "copy to "+notRepo) {
		t.Errorf("stderr %q does not name the failed copy", stderr)
	}
	if m, _ := os.ReadFile(metrics); !strings.Contains(string(m), `lvback_copy_success{volume="etc"} 0`) {
		t.Errorf("metrics lack the copy's failure:\n%s", m)
	}
}

// writeFile writes content to path, making its directory.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
