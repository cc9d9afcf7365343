package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSync(t *testing.T) {
	dir := t.TempDir()
	file, missing := filepath.Join(dir, "f"), filepath.Join(dir, "missing")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		sync    func(string) error
		path    string
		wantErr bool
	}{
		{"SyncFS dir", SyncFS, dir, false},
		{"SyncFS file", SyncFS, file, false},
		{"SyncFS missing", SyncFS, missing, true},
		{"SyncDir dir", SyncDir, dir, false},
		{"SyncDir file", SyncDir, file, true},
		{"SyncDir missing", SyncDir, missing, true},
	} {
		err := tc.sync(tc.path)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: %v, want error %v", tc.name, err, tc.wantErr)
		}
		var pe *os.PathError
		if err != nil && (!errors.As(err, &pe) || pe.Path != tc.path) {
			t.Errorf("%s: %v does not name %s", tc.name, err, tc.path)
		}
	}
}

func TestSyncDirAt(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, name := range []string{".", "sub"} {
		if err := SyncDirAt(fd, name); err != nil {
			t.Errorf("SyncDirAt(O_PATH fd, %q): %v", name, err)
		}
	}
	if err := SyncDirAt(fd, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SyncDirAt(missing): %v, want ErrNotExist", err)
	}
}

func TestRename(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(a, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Rename(filepath.Join(a, "f"), filepath.Join(b, "g")); err != nil {
		t.Fatal(err)
	}
	if got := names(t, a); len(got) != 0 {
		t.Errorf("%s still holds %q", a, got)
	}
	checkFile(t, filepath.Join(b, "g"), []byte("x"), 0o600)
	err := Rename(filepath.Join(a, "f"), filepath.Join(b, "h"))
	var le *os.LinkError
	if !errors.As(err, &le) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("rename of a missing file: %v, want an *os.LinkError for ErrNotExist", err)
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there: %v", path, err)
	}
	if err := Remove(path); err != nil {
		t.Errorf("Remove of a missing file: %v", err)
	}
	if err := Remove(filepath.Join(dir, "missing", "f")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove in a missing directory: %v, want ErrNotExist", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "full", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Remove(filepath.Join(dir, "full")); err == nil {
		t.Error("Remove of a non-empty directory: no error")
	}
}
