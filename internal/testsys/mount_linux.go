package testsys

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lvback/lvback/internal/mountinfo"
)

// MountImage makes a file system of size bytes with the mkfs command line
// (e.g. {"mkfs.btrfs", "-q"}) in a sparse image file, loop-mounts it until
// t ends and returns the mount point. It skips t, saying what is missing,
// when not root or when mkfs is not installed.
func MountImage(t testing.TB, mkfs []string, size int64) string {
	t.Helper()
	RequireRoot(t, mkfs[0], "mount", "umount")
	img := Image(t, filepath.Join(t.TempDir(), "image"), size)
	Run(t, append(mkfs[:len(mkfs):len(mkfs)], img)...)
	mnt, _ := Mount(t, img, "loop")
	return mnt
}

// Image creates the empty sparse file path of size bytes and returns path.
func Image(t testing.TB, path string, size int64) string {
	t.Helper()
	Must(t, os.WriteFile(path, nil, 0o600))
	Must(t, os.Truncate(path, size))
	return path
}

// MountTmpfs mounts a tmpfs of at most size bytes until t ends and
// returns the mount point. It skips t, saying so, when not root.
func MountTmpfs(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot mount a tmpfs")
	}
	mnt := t.TempDir()
	Run(t, "mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", mnt)
	t.Cleanup(func() { Run(t, "umount", mnt) })
	return mnt
}

// Mount mounts what (a device, or an image with opts "loop") with the
// mount options opts on a new directory until t ends, or until the
// returned function unmounts it earlier (calling it twice is safe).
func Mount(t testing.TB, what, opts string) (mnt string, umount func()) {
	t.Helper()
	mnt = t.TempDir()
	Run(t, "mount", "-o", opts, what, mnt)
	done := false
	umount = func() {
		if !done {
			done = true
			Run(t, "umount", mnt)
		}
	}
	t.Cleanup(umount)
	return mnt, umount
}

// AttachLoop attaches the image img to a free loop device until t ends,
// with losetup's extra options (e.g. "-P" to scan its partitions), and
// returns the device.
func AttachLoop(t testing.TB, img string, options ...string) string {
	t.Helper()
	args := append([]string{"losetup", "--find", "--show"}, options...)
	dev := Run(t, append(args, img)...)
	t.Cleanup(func() { Run(t, "losetup", "-d", dev) })
	return dev
}

// MountsUnder returns the mount points at or below dir, deepest first.
func MountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	ms, err := mountinfo.Read()
	Must(t, err)
	var out []string
	for _, m := range mountinfo.Under(ms, dir) {
		out = append(out, m.Point)
	}
	return out
}
