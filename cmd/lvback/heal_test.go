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
	src, repoPath := filepath.Join(base, "src"), initTamperRepo(t, filepath.Join(base, "repo"))
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

// The whole healing flow on one repository holding a file tree and a block
// image: damage a file and a chunk, lose another chunk; verify reports all
// three (exit 1); the next backups copy the file and store both chunks
// again; verify --repair heals the older tree; verify is clean, and both
// restore to the sources.
func TestHealFileAndChunkCLI(t *testing.T) {
	base := t.TempDir()
	src, img, repoPath := filepath.Join(base, "src"), filepath.Join(base, "disk.img"), initRepo(t, filepath.Join(base, "repo"))
	mkTree(t, src, "etc/fstab", "data/a")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(src, "etc/fstab"), old, old)
	image := make([]byte, 6<<20) // three 2 MiB chunks, each different
	for i := range image {
		image[i] = byte(i/(2<<20)*7 + i%251)
	}
	os.WriteFile(img, image, 0o644)
	backup := func() {
		t.Helper()
		for _, args := range [][]string{
			{"backup", "--repo", repoPath, "--name", "v", "--source", src},
			{"backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img},
		} {
			if code, _, stderr := run(t, args...); code != exitOK {
				t.Fatalf("%v: exit %d: %s", args, code, stderr)
			}
		}
	}
	backup()
	r, _ := repo.Open(repoPath)
	bs, _ := r.Backups("v")
	f := filepath.Join(bs[0].TreePath(), "etc/fstab")
	fi, _ := os.Stat(f)
	os.WriteFile(f, []byte(strings.Repeat("X", int(fi.Size()))), 0o644)
	os.Chtimes(f, fi.ModTime(), fi.ModTime())
	var chunks []string
	filepath.Walk(r.ChunksDir(), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !strings.HasPrefix(fi.Name(), ".") {
			chunks = append(chunks, p)
		}
		return nil
	})
	if len(chunks) < 2 {
		t.Fatalf("%d chunks stored", len(chunks))
	}
	data, _ := os.ReadFile(chunks[0])
	data[len(data)/2] ^= 0xff
	os.WriteFile(chunks[0], data, 0o600)
	os.Remove(chunks[1])

	code, out, stderr := run(t, "verify", "--repo", repoPath)
	if code != exitFailed || strings.Count(out+stderr, "corrupt") < 2 || !strings.Contains(out+stderr, "missing") {
		t.Fatalf("verify of the damage: exit %d\n%s%s", code, out, stderr)
	}
	backup()
	if code, out, stderr := run(t, "verify", "--repo", repoPath, "--repair"); code != exitOK {
		t.Fatalf("verify --repair: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr := run(t, "verify", "--repo", repoPath); code != exitOK || !strings.Contains(out, "0 problems") {
		t.Fatalf("verify after the repair: exit %d\n%s%s", code, out, stderr)
	}
	for _, b := range []string{bs[0].ID, "latest"} {
		dir := filepath.Join(base, "restored-"+b)
		if code, _, stderr := run(t, "restore", "--repo", repoPath, "--name", "v", "--id", b, "--target", dir); code != exitOK {
			t.Fatalf("restore %s: %s", b, stderr)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "etc/fstab")); string(got) != "etc/fstab" {
			t.Fatalf("restored %s holds %q", b, got)
		}
	}
	vbs, _ := r.Backups("vm")
	out2 := filepath.Join(base, "restored.img")
	if code, _, stderr := run(t, "restore", "--repo", repoPath, "--name", "vm", "--id", vbs[0].ID, "--target", out2); code != exitOK {
		t.Fatalf("restore of the first image: %s", stderr)
	}
	if got, _ := os.ReadFile(out2); string(got) != string(image) {
		t.Fatal("the first block backup does not restore to the image")
	}
}
