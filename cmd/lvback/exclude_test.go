package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/repo"
)

// treeFiles lists the paths below root, slash-separated and sorted.
func treeFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(root, p); rel != "." {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// newestBackup returns the newest complete backup of name.
func newestBackup(t *testing.T, repoPath, name string) *repo.Backup {
	t.Helper()
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Latest(name)
	if err != nil || b == nil {
		t.Fatalf("no backup of %s: %v", name, err)
	}
	return b
}

func TestBackupExcludeFlags(t *testing.T) {
	base := t.TempDir()
	src, repoPath := filepath.Join(base, "src"), filepath.Join(base, "repo")
	mkTree(t, src, "a.o", "keep.txt", "lib/b.o", "lib/deep/c.o", "lib/deep/d.c", "logs/x.log", "logs/keep.log",
		"tmp/t", "home/.cache/blob", "home/skip/data", "home/skip/.nobackup")
	os.WriteFile(filepath.Join(src, "home/.cache/CACHEDIR.TAG"), []byte(exclude.CacheTagSignature+"\n"), 0o644)
	exFile := filepath.Join(base, "excludes")
	os.WriteFile(exFile, []byte("# logs, but not the one to keep\n\n*.log\n  !keep.log  \n"), 0o644)
	if code, _, stderr := run(t, "init", "--repo", repoPath); code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src,
		"--exclude", "*.o", "--exclude-file", exFile, "--exclude", "/tmp", "--exclude-caches", "--exclude-if-present", ".nobackup")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b1 := newestBackup(t, repoPath, "v")
	want := []string{"home", "home/.cache", "home/.cache/CACHEDIR.TAG", "home/skip", "home/skip/.nobackup",
		"keep.txt", "lib", "lib/deep", "lib/deep/d.c", "logs", "logs/keep.log"}
	if got := treeFiles(t, b1.TreePath()); !slices.Equal(got, want) {
		t.Fatalf("tree %q\nwant %q", got, want)
	}
	x := b1.Info.Excludes
	if x == nil || !slices.Equal(x.Patterns, []string{"*.o", "*.log", "!keep.log", "/tmp"}) || !x.Caches ||
		!slices.Equal(x.IfPresent, []string{".nobackup"}) {
		t.Fatalf("info.json excludes %+v", x)
	}

	// Drop the log rules, exclude lib/deep: diff tells excluded from removed.
	os.Remove(filepath.Join(src, "keep.txt"))
	code, _, stderr = run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src,
		"--exclude", "*.o", "--exclude", "/tmp", "--exclude", "lib/deep", "--exclude-caches", "--exclude-if-present", ".nobackup")
	if code != 0 || !strings.Contains(stderr, "exclude rules changed") {
		t.Fatalf("exit %d, rule change not logged: %s", code, stderr)
	}
	b2 := newestBackup(t, repoPath, "v")
	if !slices.Contains(b2.Info.ExcludesChanged, `pattern "lib/deep" added`) {
		t.Fatalf("info.json excludes_changed %q", b2.Info.ExcludesChanged)
	}
	code, out, stderr := run(t, "diff", "--repo", repoPath, "--name", "v", b1.ID, b2.ID)
	wantDiff := "M . (mtime)\n- keep.txt\nx lib/deep (excluded)\nx lib/deep/d.c (excluded)\n+ logs/x.log (no longer excluded)\n"
	if code != 0 || out != wantDiff {
		t.Fatalf("diff exit %d: %s\n%s\nwant\n%s", code, stderr, out, wantDiff)
	}
	_, out, _ = run(t, "diff", "--repo", repoPath, "--name", "v", "--json", b1.ID, b2.ID)
	var items []diffItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, it := range items {
		kinds[it.Path] = it.Kind
	}
	if kinds["lib/deep"] != "excluded" || kinds["logs/x.log"] != "included" || kinds["keep.txt"] != "removed" {
		t.Fatalf("diff --json kinds %v", kinds)
	}
	if code, out, stderr := run(t, "verify", "--repo", repoPath); code != 0 {
		t.Fatalf("verify exit %d: %s %s", code, out, stderr)
	}
}

func TestBackupBadExcludeIsUsageError(t *testing.T) {
	base := t.TempDir()
	src, repoPath := filepath.Join(base, "src"), filepath.Join(base, "repo")
	mkTree(t, src, "f")
	bad := filepath.Join(base, "excludes")
	os.WriteFile(bad, []byte("# ok so far\n*.o\nlogs/[x\n"), 0o644)
	if code, _, stderr := run(t, "init", "--repo", repoPath); code != 0 {
		t.Fatal(stderr)
	}
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"bad pattern", []string{"--exclude", "ok", "--exclude", "cache/[a-"}, []string{`"cache/[a-"`}},
		{"bad file line", []string{"--exclude-file", bad}, []string{bad + ":3", `"logs/[x"`}},
		{"missing file", []string{"--exclude-file", filepath.Join(base, "nope")}, []string{"nope"}},
		{"bad marker", []string{"--exclude-if-present", "a/b"}, []string{`"a/b"`}},
		{"blocks", []string{"--mode", "blocks", "--exclude", "x"}, []string{"file mode only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"backup", "--repo", repoPath, "--name", "v", "--source", src}, tt.args...)
			code, _, stderr := run(t, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr)
			}
			for _, w := range tt.wants {
				if !strings.Contains(stderr, w) {
					t.Fatalf("stderr %q does not name %q", stderr, w)
				}
			}
			if completeBackups(t, repoPath, "v") != 0 {
				t.Fatal("a backup was made")
			}
		})
	}
}

func TestRunExcludeConfig(t *testing.T) {
	base := t.TempDir()
	mkTree(t, filepath.Join(base, "home"), "ann/notes", "ann/a.o", "ann/big.iso", "ann/keep.iso", "bob/.nobackup", "bob/x")
	exFile := filepath.Join(base, "home.excludes")
	os.WriteFile(exFile, []byte("# isos are big\n*.iso\n!keep.iso\n"), 0o644)
	repoPath := filepath.Join(base, "repo")
	if code, _, stderr := run(t, "init", "--repo", repoPath); code != 0 {
		t.Fatal(stderr)
	}
	cfg := writeConfig(t, base, `repo = "`+repoPath+`"
[defaults]
exclude = ["*.o"]
exclude_if_present = [".nobackup"]
[[volume]]
name = "home"
path = "`+base+`/home"
exclude_file = "`+exFile+`"
`)
	if code, _, stderr := run(t, "run", "--config", cfg); code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	b := newestBackup(t, repoPath, "home")
	want := []string{"ann", "ann/keep.iso", "ann/notes", "bob", "bob/.nobackup"}
	if got := treeFiles(t, b.TreePath()); !slices.Equal(got, want) {
		t.Fatalf("tree %q\nwant %q", got, want)
	}
	if x := b.Info.Excludes; x == nil || !slices.Equal(x.Patterns, []string{"*.o", "*.iso", "!keep.iso"}) {
		t.Fatalf("info.json excludes %+v", x)
	}
	bad := writeConfig(t, base, `repo = "`+repoPath+`"
[[volume]]
name = "home"
path = "`+base+`/home"
exclude = ["[oops"]
`)
	code, _, stderr := run(t, "run", "--config", bad)
	if code != exitUsage || !strings.Contains(stderr, "lvback.toml:5") || !strings.Contains(stderr, `"[oops"`) {
		t.Fatalf("bad pattern in config: exit %d: %s", code, stderr)
	}
}
