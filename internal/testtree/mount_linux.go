package testtree

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// MountImage makes a file system of size bytes with the mkfs command line
// (e.g. {"mkfs.btrfs", "-q"}) in an image file, loop-mounts it until t ends
// and returns the mount point. It skips t, saying what is missing, when not
// root or when mkfs is not installed.
func MountImage(t testing.TB, mkfs []string, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot loop-mount a file system image")
	}
	if _, err := exec.LookPath(mkfs[0]); err != nil {
		t.Skipf("%s not installed (apt-get install btrfs-progs xfsprogs e2fsprogs)", mkfs[0])
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "image"), filepath.Join(dir, "mnt")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	runCmd(t, append(mkfs, img)...)
	runCmd(t, "mount", "-o", "loop", img, mnt)
	t.Cleanup(func() { runCmd(t, "umount", mnt) })
	return mnt
}

// runCmd runs a command and fails t with its output if it fails.
func runCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// MountTmpfs mounts a tmpfs of size bytes until t ends and returns the
// mount point. It skips t, saying so, when not root.
func MountTmpfs(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot mount a tmpfs")
	}
	mnt := t.TempDir()
	runCmd(t, "mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", mnt)
	t.Cleanup(func() { runCmd(t, "umount", mnt) })
	return mnt
}
