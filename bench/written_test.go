package main

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWrittenSince counts a new file once however many links it has, and
// nothing for a link to an older file.
func TestWrittenSince(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	if err := os.WriteFile(old, make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * clockSlack)
	start := time.Now()
	dest := filepath.Join(dir, "dest")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	newFile := filepath.Join(dest, "new")
	if err := os.WriteFile(newFile, []byte{1}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{newFile, "new-link"}, {old, "old-link"}} {
		if err := os.Link(l[0], filepath.Join(dest, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	got, err := writtenSince(dest, start)
	if errors.Is(err, errNoBirthTime) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := blocks(t, dest) + blocks(t, newFile)
	if got != want {
		t.Errorf("written %d, want %d (the new directory and the new file once)", got, want)
	}
	if n, err := writtenSince(filepath.Join(dir, "missing"), start); n != 0 || err != nil {
		t.Errorf("a missing destination: %d, %v; want 0, nil", n, err)
	}
}

func blocks(t *testing.T, p string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}
