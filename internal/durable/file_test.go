package durable

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// tempName is the shape Create promises for the temporary file of "f".
var tempName = regexp.MustCompile(`^\.f\.[0-9]+\.tmp$`)

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func umask() fs.FileMode {
	m := unix.Umask(0)
	unix.Umask(m)
	return fs.FileMode(m)
}

func checkFile(t *testing.T, path string, want []byte, perm fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != perm {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode(), perm)
	}
}

func TestWriteFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing fs.FileMode // 0: no file before
		perm     fs.FileMode
		want     fs.FileMode
	}{
		{"new 0644", 0, 0o644, 0o644 &^ umask()},
		{"new 0600", 0, 0o600, 0o600 &^ umask()},
		{"new 0666", 0, 0o666, 0o666 &^ umask()},
		{"replaced keeps 0640", 0o640, 0o644, 0o640},
		{"replaced keeps 0604", 0o604, 0o600, 0o604},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if tc.existing != 0 {
				if err := os.WriteFile(path, []byte("old content, longer"), 0); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(path, []byte("new"), tc.perm); err != nil {
				t.Fatal(err)
			}
			checkFile(t, path, []byte("new"), tc.want)
			if got := names(t, dir); !slices.Equal(got, []string{"f"}) {
				t.Errorf("directory holds %q, want only f", got)
			}
		})
	}
}

// TestCreateCommit checks that the final name shows the old content (or
// nothing) until Commit, and the whole new content after it.
func TestCreateCommit(t *testing.T) {
	for _, old := range []string{"", "old"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "f")
		if old != "" {
			if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f, err := Create(path, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Cleanup()
		for _, part := range []string{"first ", "second"} {
			if _, err := f.Write([]byte(part)); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if old == "" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("before Commit %s exists (%q, %v)", path, got, err)
			}
			if old != "" && string(got) != old {
				t.Errorf("before Commit %s holds %q (%v), want %q", path, got, err, old)
			}
		}
		ns := names(t, dir)
		tmps := slices.DeleteFunc(slices.Clone(ns), func(n string) bool { return !tempName.MatchString(n) })
		if len(tmps) != 1 || filepath.Join(dir, tmps[0]) != f.Name() {
			t.Fatalf("before Commit the directory holds %q, want one .f.DIGITS.tmp named %s", ns, f.Name())
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		checkFile(t, path, []byte("first second"), 0o600&^umask())
		f.Cleanup() // a no-op after Commit
		f.Cleanup()
		if got := names(t, dir); !slices.Equal(got, []string{"f"}) {
			t.Errorf("after Commit the directory holds %q, want only f", got)
		}
		if err := f.Commit(); err == nil {
			t.Error("a second Commit succeeded")
		}
	}
}

func TestCleanup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("discarded")); err != nil {
		t.Fatal(err)
	}
	f.Cleanup()
	f.Cleanup() // safe twice
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("after Cleanup the directory holds %q", got)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Cleanup succeeded")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Commit after Cleanup made %s: %v", path, err)
	}
}

// readOnlyDir returns an empty directory in which nothing can be created,
// even by root (a read-only tmpfs mounted on it).
func readOnlyDir(t *testing.T) string {
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		return dir
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_RDONLY, "size=64k"); err != nil {
		t.Skipf("cannot mount a read-only tmpfs as root: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestWriteFileErrors checks failures before and at the rename: an error,
// the final path untouched, and no temporary file left.
func TestWriteFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing", "f")
	if err := WriteFile(missing, []byte("x"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v, want ErrNotExist", err)
	}

	ro := readOnlyDir(t)
	if err := WriteFile(filepath.Join(ro, "f"), []byte("x"), 0o644); err == nil {
		t.Error("read-only directory: no error")
	}
	if got := names(t, ro); len(got) != 0 {
		t.Errorf("read-only directory holds %q", got)
	}

	// The rename fails: the final name is a non-empty directory.
	dir := t.TempDir()
	busy := filepath.Join(dir, "f")
	if err := os.MkdirAll(filepath.Join(busy, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(busy, []byte("x"), 0o644)
	var le *os.LinkError
	if !errors.As(err, &le) {
		t.Errorf("rename over a directory: %v, want an *os.LinkError", err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"f"}) {
		t.Errorf("after a failed rename the directory holds %q, want only f", got)
	}
	if fi, err := os.Lstat(busy); err != nil || !fi.IsDir() {
		t.Errorf("the directory in the way was changed: %v %v", fi, err)
	}
}
