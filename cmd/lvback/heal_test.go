package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/repo"
)

// Issue 12 through the command line: verify records a damaged file (exit
// 1), repair without an intact copy fails and says why, the next backup
// copies instead of linking and says so, verify --repair heals (exit 0)
// and a last verify is clean.
func TestVerifyRepairCLI(t *testing.T) {
	base := t.TempDir()
	src, repoPath := filepath.Join(base, "src"), initRepo(t, filepath.Join(base, "repo"))
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("intact content"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(src, "f"), old, old)
	for range 2 {
		if code, _, stderr := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src); code != exitOK {
			t.Fatalf("backup: exit %d: %s", code, stderr)
		}
	}
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := r.Backups("v")
	f := filepath.Join(bs[0].TreePath(), "f")
	fi, _ := os.Stat(f)
	os.WriteFile(f, []byte("damaged content"[:fi.Size()]), 0o644) // same size, in place
	os.Chtimes(f, fi.ModTime(), fi.ModTime())

	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify", "--repo", repoPath, "--source", src}, exitUsage, "--source needs --repair"},
		{[]string{"verify", "--repo", repoPath}, exitFailed, "recorded 1 damaged files"},
		{[]string{"verify", "--repo", repoPath, "--repair"}, exitFailed, "could not heal v/" + bs[0].ID + ":f, v/" + bs[1].ID + ":f: no intact copy"},
		{[]string{"backup", "--repo", repoPath, "--name", "v", "--source", src}, exitOK, "1 files copied instead of linked: recorded damaged by verify"},
		{[]string{"verify", "--repo", repoPath, "--repair"}, exitOK, "repair: 1 damaged files healed, 0 not healed"},
		{[]string{"verify", "--repo", repoPath}, exitOK, "verified 3 backups"},
	}
	for _, s := range steps {
		code, stdout, stderr := run(t, s.args...)
		if code != s.code || !strings.Contains(stdout+stderr, s.want) {
			t.Fatalf("%s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(s.args[:1], " "), code, s.code, s.want, stdout, stderr)
		}
	}
	if b, _ := os.ReadFile(f); string(b) != "intact content" {
		t.Fatalf("healed file holds %q", b)
	}
	if _, err := os.Lstat(filepath.Join(repoPath, repo.DamagedFile)); !os.IsNotExist(err) {
		t.Fatalf("damaged list left after repair: %v", err)
	}
}
