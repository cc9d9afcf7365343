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
