package fileops

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
)

func TestReflinkUnsupported(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.EXT4_SUPER_MAGIC && st.Type != unix.TMPFS_MAGIC {
		t.Skipf("temp dir is on file system type %#x, which may support reflink; want ext4 or tmpfs", st.Type)
	}
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeAt(t, src, 0, []byte("data"))
	if err := Reflink(dst, src); !errors.Is(err, ErrNoReflink) {
		t.Errorf("Reflink on fs %#x: %v, want ErrNoReflink", st.Type, err)
	}
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dst left behind: %v", err)
	}
}

func TestReflink(t *testing.T) {
	for _, tc := range []struct {
		fs    string
		mkfs  []string
		size  int64
		magic int64
	}{
		{fs: "btrfs", mkfs: []string{"mkfs.btrfs", "-q"}, size: 256 << 20, magic: unix.BTRFS_SUPER_MAGIC},
		{fs: "xfs", mkfs: []string{"mkfs.xfs", "-q", "-m", "reflink=1"}, size: 320 << 20, magic: unix.XFS_SUPER_MAGIC},
	} {
		t.Run(tc.fs, func(t *testing.T) {
			mnt := testsys.MountImage(t, tc.mkfs, tc.size)
			var st unix.Statfs_t
			if err := unix.Statfs(mnt, &st); err != nil || st.Type != tc.magic {
				t.Fatalf("%s is not %s (type %#x, %v)", mnt, tc.fs, st.Type, err)
			}
			src, dst := filepath.Join(mnt, "src"), filepath.Join(mnt, "dst")
			content := randomBytes(7, 3<<20)
			writeAt(t, src, 0, content)
			if err := Reflink(dst, src); err != nil {
				t.Fatal(err)
			}
			if string(readAll(t, dst)) != string(content) {
				t.Fatal("clone differs from the original")
			}
			writeAt(t, dst, 1<<20, []byte("changed"))
			if string(readAll(t, src)) != string(content) {
				t.Error("writing the clone changed the original")
			}
			if err := Reflink(dst, src); !errors.Is(err, fs.ErrExist) {
				t.Errorf("Reflink onto an existing file: %v, want ErrExist", err)
			}
			other := filepath.Join(t.TempDir(), "other")
			if err := Reflink(other, src); !errors.Is(err, ErrNoReflink) {
				t.Errorf("Reflink across file systems: %v, want ErrNoReflink", err)
			}
		})
	}
}
