package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// backup --mode blocks of an image file that has not changed since the
// last backup says that it reused that backup's index without reading;
// with --full-read it reads (and does not say so).
func TestBlockBackupUnchangedImageCommand(t *testing.T) {
	base := t.TempDir()
	img := filepath.Join(base, "disk.img")
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	backup := func(args ...string) string {
		t.Helper()
		code, out, e := run(t, append([]string{"backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img}, args...)...)
		if code != exitOK {
			t.Fatalf("backup %v: exit %d: %s", args, code, e)
		}
		return out
	}
	const said = "(size, mtime, ctime, inode): reused its index without reading"
	if out := backup(); strings.Contains(out, said) {
		t.Fatalf("first backup: %q", out)
	}
	first := listIDs(t, repoPath)[0]
	if out := backup(); !strings.Contains(out, "source unchanged since "+first+" "+said) {
		t.Errorf("backup of the unchanged image: %q, want it to say it reused %s's index", out, first)
	}
	if out := backup("--full-read"); strings.Contains(out, said) || !strings.Contains(out, "chunks") {
		t.Errorf("backup --full-read: %q, want a read", out)
	}
}
