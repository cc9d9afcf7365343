package fileops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/xattr"
	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/manifest"
)

// CopyFileMeta leaves the copy with exactly the recorded mode, xattrs,
// mtime and (as root) owner, like CopyFile followed by ApplyMeta.
func TestCopyFileMeta(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &manifest.Entry{Type: manifest.TypeFile, Mode: 0o4751, Size: 7, Mtime: manifest.Time{Sec: 10413792000, Nsec: 123456789},
		UID: uint32(os.Geteuid()), GID: uint32(os.Getegid()),
		Xattrs: []manifest.Xattr{{Name: "user.a", Value: []byte("1")}, {Name: "user.b", Value: nil}}}
	if os.Geteuid() == 0 {
		e.UID, e.GID = 1234, 5678
	}
	f, _ := os.Open(src)
	defer f.Close()
	dst := filepath.Join(dir, "dst")
	if _, _, err := CopyFileMeta(context.Background(), dst, f, e); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dst, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o4751 || FromTimespec(st.Mtim) != e.Mtime || st.Uid != e.UID || st.Gid != e.GID {
		t.Fatalf("mode %o mtime %v owner %d:%d", st.Mode&0o7777, FromTimespec(st.Mtim), st.Uid, st.Gid)
	}
	names, _ := xattr.List(dst)
	if len(names) != 2 {
		t.Fatalf("xattrs %v", names)
	}
}

// A cancelled copy stops at once and leaves no destination behind.
func TestCopyFileStopsWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(src)
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst := filepath.Join(dir, "dst")
	_, n, err := CopyFile(ctx, dst, f, 8<<20)
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("err = %v, written %d; want context.Canceled", err, n)
	}
	if _, err := os.Lstat(dst); err == nil {
		t.Fatal("the cancelled copy left its destination")
	}
	if _, err := HashFile(ctx, f, 8<<20); !errors.Is(err, context.Canceled) {
		t.Fatalf("HashFile: %v", err)
	}
}

// OverwriteFileMeta writes into an existing file of one link, keeping
// its inode: new content and exactly the recorded metadata (an owner
// equal to the process's own included, stale xattrs removed). A file
// with two links, a FIFO or a symlink is left alone (ErrNotOverwritable).
func TestOverwriteFileMeta(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	if err := os.WriteFile(dst, []byte("old and longer content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := xattr.Set(dst, "user.stale", []byte("x")); err != nil {
		t.Skipf("no user xattrs here: %v", err)
	}
	e := &manifest.Entry{Type: manifest.TypeFile, Mode: 0o640, Size: 3, Mtime: manifest.Time{Sec: 1700000000},
		UID: uint32(os.Geteuid()), GID: uint32(os.Getegid()), Xattrs: []manifest.Xattr{{Name: "user.a", Value: []byte("1")}}}
	if os.Geteuid() == 0 {
		if err := os.Chown(dst, 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	var before, st unix.Stat_t
	unix.Lstat(dst, &before)
	f, _ := os.Open(src)
	defer f.Close()
	if _, _, err := OverwriteFileMeta(context.Background(), dst, f, e); err != nil {
		t.Fatal(err)
	}
	unix.Lstat(dst, &st)
	got, _ := os.ReadFile(dst)
	names, _ := xattr.List(dst)
	if string(got) != "new" || st.Ino != before.Ino || st.Mode&0o7777 != 0o640 || st.Uid != e.UID || st.Gid != e.GID ||
		FromTimespec(st.Mtim) != e.Mtime || len(names) != 1 || names[0] != "user.a" {
		t.Errorf("after overwrite: %q, inode %d (was %d), mode %o, owner %d:%d, mtime %v, xattrs %v",
			got, st.Ino, before.Ino, st.Mode&0o7777, st.Uid, st.Gid, FromTimespec(st.Mtim), names)
	}

	linked := filepath.Join(dir, "linked")
	if err := os.Link(dst, linked); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym")
	if err := os.Symlink(src, sym); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dst, fifo, sym} {
		if _, _, err := OverwriteFileMeta(context.Background(), p, f, e); !errors.Is(err, ErrNotOverwritable) {
			t.Errorf("%s: %v, want ErrNotOverwritable", filepath.Base(p), err)
		}
	}
	if got, _ := os.ReadFile(linked); string(got) != "new" {
		t.Errorf("the hard-linked file changed: %q", got)
	}
	if got, _ := os.ReadFile(src); string(got) != "new" {
		t.Errorf("the symlink's target changed: %q", got)
	}
}
