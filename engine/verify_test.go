package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// verify finds a flipped byte (in a file two backups share, naming both),
// a missing file, an extra file and a metadata change, and only those.
func TestVerifyFindsDamage(t *testing.T) {
	src, repoPath := tamperDirs(t)
	for _, n := range []string{"shared", "gone", "chmodded", "fine"} {
		writeFile(t, filepath.Join(src, n), "content of "+n)
	}
	old := time.Now().Add(-time.Hour)
	filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	first := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	second := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	mustVerifyClean(t, repoPath)

	flipByte(t, filepath.Join(second.Tree, "shared"), 3)
	os.Remove(filepath.Join(second.Tree, "gone"))
	writeFile(t, filepath.Join(second.Tree, "intruder"), "x")
	os.Chtimes(second.Tree, old, old) // keep the root's own mtime out of the report
	os.Chmod(filepath.Join(second.Tree, "chmodded"), 0o600)

	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath})
	if !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("err = %v, want ErrVerifyFailed", err)
	}
	got := map[string]string{}
	for _, p := range rep.Problems {
		got[p.Backup[strings.Index(p.Backup, "/")+1:]+" "+p.Kind+" "+p.Path] = p.Detail
	}
	id1, id2 := first.Info.ID, second.Info.ID
	want := []string{
		id1 + " corrupt shared", id2 + " corrupt shared",
		id2 + " missing gone", id2 + " extra intruder",
		// chmod of a hard-linked inode shows in both backups that hold it
		id1 + " metadata chmodded", id2 + " metadata chmodded",
	}
	for _, w := range want {
		if _, ok := got[w]; !ok {
			t.Errorf("missing problem %q; got %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(got), len(want), got)
	}
	if d := got[id2+" corrupt shared"]; !strings.Contains(d, id1) {
		t.Errorf("corruption of a shared file does not name the other backup: %q", d)
	}
	// one backup by id still reports its damage
	if _, err := Verify(context.Background(), VerifyOptions{Repo: repoPath, Name: "vol", ID: id1}); !errors.Is(err, ErrVerifyFailed) {
		t.Errorf("verify of %s: %v, want failure", id1, err)
	}
}

// flipByte inverts one byte in place, keeping size and mtime.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0xff
	f.WriteAt(b, off)
	f.Close()
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
}

func TestVerifyDetectsDamagedManifest(t *testing.T) {
	src, repoPath := tamperDirs(t)
	writeFile(t, filepath.Join(src, "f"), "x")
	res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	flipByte(t, filepath.Join(res.Dir, "manifest.zst"), 20)
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath})
	if !errors.Is(err, ErrVerifyFailed) || rep.Problems[0].Kind != "manifest" {
		t.Fatalf("err = %v, problems %v", err, rep)
	}
}
