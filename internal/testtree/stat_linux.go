package testtree

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// SameInode reports whether a and b (final symlinks not followed) are the
// same inode on the same device. A failing lstat fails the test.
func SameInode(t testing.TB, a, b string) bool {
	t.Helper()
	sa, sb := lstat(t, a), lstat(t, b)
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// Blocks returns the number of 512-byte blocks allocated to path (a final
// symlink not followed). A failing lstat fails the test.
func Blocks(t testing.TB, path string) int64 {
	t.Helper()
	return lstat(t, path).Blocks
}

func lstat(t testing.TB, path string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("testtree: lstat %s: %v", path, err)
	}
	return &st
}

// CanMknod reports whether this process may create device nodes, by
// creating one (char 1:3) in a temporary directory. The answer is cached.
func CanMknod() bool { return canMknod() }

var canMknod = sync.OnceValue(func() bool {
	dir, err := os.MkdirTemp("", "testtree-mknod-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	err = unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3)))
	return err == nil
})

// isRoot reports whether ownership and the trusted.* and security.* xattr
// namespaces can be set.
func isRoot() bool { return os.Geteuid() == 0 }
