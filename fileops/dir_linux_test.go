package fileops

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
)

// A Dir is reached beneath its tree without following a symlink, and its
// operations stay in the directory it opened, even when its path is
// swapped for a symlink to outside afterwards.
func TestTreeOpenDir(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	for _, p := range []string{"d/f", "d/sub/g"} {
		testsys.Must(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		testsys.Must(t, os.WriteFile(filepath.Join(root, p), []byte(p), 0o644))
	}
	testsys.Must(t, os.WriteFile(filepath.Join(outside, "f"), []byte("outside"), 0o644))
	testsys.Must(t, os.Symlink(outside, filepath.Join(root, "ln")))
	testsys.Must(t, unix.Mkfifo(filepath.Join(root, "d/fifo"), 0o600))
	tree, err := OpenTree(root)
	testsys.Must(t, err)
	defer tree.Close()

	for _, rel := range []string{"ln", "ln/sub"} {
		var se *SymlinkError
		if _, err := tree.OpenDir(rel); !errors.As(err, &se) || se.Path != "ln" {
			t.Errorf("OpenDir(%s): err = %v, want a symlink error naming ln", rel, err)
		}
	}
	d, err := tree.OpenDir("d")
	testsys.Must(t, err)
	defer d.Close()
	for _, name := range []string{"", ".", "..", "sub/g"} {
		if err := d.Lstat(name, new(unix.Stat_t)); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Lstat(%q): err = %v, want EINVAL", name, err)
		}
	}
	if _, err := d.OpenFile("fifo"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("OpenFile(fifo): err = %v, want ErrNotRegular", err)
	}

	// d's path now leads outside: d still names the moved directory.
	testsys.Must(t, os.Rename(filepath.Join(root, "d"), filepath.Join(root, "moved")))
	testsys.Must(t, os.Symlink(outside, filepath.Join(root, "d")))
	testsys.Must(t, Link(d, "f", d, "f2"))
	testsys.Must(t, Rename(d, "f2", d, "f3"))
	f, err := d.OpenFile("f3")
	testsys.Must(t, err)
	b := make([]byte, 16)
	n, _ := f.Read(b)
	f.Close()
	if string(b[:n]) != "d/f" {
		t.Errorf("read %q through the Dir, want d/f", b[:n])
	}
	testsys.Must(t, d.Remove("f3"))
	testsys.Must(t, d.SetTimes(unix.Timespec{Sec: 1}, unix.Timespec{Sec: 2}))
	testsys.Must(t, d.Sync())
	var st unix.Stat_t
	testsys.Must(t, unix.Lstat(filepath.Join(root, "moved"), &st))
	if st.Mtim.Sec != 2 {
		t.Errorf("mtime of the directory = %d, want 2", st.Mtim.Sec)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("outside holds %v, want only f", entries)
	}
	testsys.Must(t, unix.Lstat(outside, &st))
	if st.Mtim.Sec == 2 {
		t.Error("the outside directory's times were set")
	}
}
