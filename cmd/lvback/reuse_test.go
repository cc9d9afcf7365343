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

// run reports a block volume whose image file had not changed as "ok,
// unchanged" (JSON reused_index: the newest backup, whose index it
// copied), and full_read = true reads it anyway.
func TestRunBlockVolumeUnchangedImage(t *testing.T) {
	base := t.TempDir()
	img := filepath.Join(base, "disk.img")
	if err := os.WriteFile(img, []byte("not all zeros"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 1<<20); err != nil {
		t.Fatal(err)
	}
	initRepo(t, filepath.Join(base, "repo"))
	volume := "repo = \"" + base + "/repo\"\n[[volume]]\nname = \"vm\"\nmode = \"blocks\"\npath = \"" + img + "\"\n"
	cfg := writeConfig(t, base, volume)
	for i, want := range []string{"vm      ok  ", "vm      ok, unchanged"} {
		code, out, e := run(t, "run", "--config", cfg)
		if code != exitOK || !strings.Contains(out, want) {
			t.Fatalf("run %d: exit %d, %s\n%s\nwant %q", i+1, code, e, out, want)
		}
	}
	ids := listIDs(t, filepath.Join(base, "repo"))
	code, out, e := run(t, "run", "--config", cfg, "--json")
	if latest := ids[len(ids)-1]; code != exitOK || !strings.Contains(out, `"reused_index": "`+latest+`"`) {
		t.Fatalf("run --json: exit %d, %s\n%s", code, e, out)
	}
	cfg = writeConfig(t, base, volume+"full_read = true\n")
	code, out, e = run(t, "run", "--config", cfg, "--json")
	if code != exitOK || strings.Contains(out, "reused_index") {
		t.Fatalf("run with full_read: exit %d, %s\n%s", code, e, out)
	}
}
