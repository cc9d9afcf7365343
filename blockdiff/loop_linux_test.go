package blockdiff

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/mountinfo"
	"github.com/lvback/lvback/internal/testsys"
)

// TestLoopDevice backs up a loop device and restores onto loop devices:
// one full of garbage (holes must become zeros, bytes past the image stay),
// one too small and one held open exclusively (both refused, untouched).
func TestLoopDevice(t *testing.T) {
	testsys.RequireRoot(t, "losetup")
	const size, cs = 32 * mib, 1 * mib
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, "src.img")
	writeImage(t, img, size, span{0, 5 * mib, "text", 1}, span{10 * mib, 2 * mib, "random", 2})
	src := testsys.AttachLoop(t, img)
	if n, err := SourceSize(src); err != nil || n != size {
		t.Errorf("SourceSize(%s) = %d, %v; want %d", src, n, err, size)
	}
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	testsys.Must(t, err)
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "index"), Options{ChunkSize: cs})
	testsys.Must(t, err)
	checkStats(t, st, idx)
	// A device reports no holes: everything is read, zeros are found by
	// looking at them.
	if idx.Size != size || st.ReadBytes != size || st.Holes != 25 || st.NewChunks != 7 {
		t.Errorf("backup of %s: size %d, stats %+v", src, idx.Size, st)
	}
	restoreAndCompare(t, idx, store, img)

	garbageImg := filepath.Join(dir, "garbage.img")
	writeImage(t, garbageImg, size+3*mib, span{0, size + 3*mib, "random", 9})
	tail := span{0, size + 3*mib, "random", 9}.fill()[size:]
	dev := testsys.AttachLoop(t, garbageImg)
	testsys.Must(t, Restore(ctx, idx, store, dev, RestoreOptions{}))
	if prefixSHA256(t, dev, size) != fileSHA256(t, img) {
		t.Error("restored device differs from the image")
	}
	if got := readAt(t, dev, size, len(tail)); string(got) != string(tail) {
		t.Error("restore wrote past the image")
	}

	smallImg := filepath.Join(dir, "small.img")
	writeImage(t, smallImg, size/2, span{0, size / 2, "random", 10})
	small := testsys.AttachLoop(t, smallImg)
	before := fileSHA256(t, small)
	err = Restore(ctx, idx, store, small, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("restore to a too small device: %v", err)
	}
	if fileSHA256(t, small) != before {
		t.Error("refused restore changed the device")
	}

	f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_EXCL, 0)
	testsys.Must(t, err)
	defer f.Close()
	err = Restore(ctx, idx, store, dev, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("restore to a device held open exclusively: %v", err)
	}
}

// TestRestoreRefusesMountedDevice mounts a loop device and expects Restore
// to refuse it, naming the mount point, and to leave it unchanged.
func TestRestoreRefusesMountedDevice(t *testing.T) {
	testsys.RequireRoot(t, "losetup", "mkfs.ext4", "mount", "umount")
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, "fs.img")
	writeImage(t, img, 16*mib)
	testsys.Run(t, "mkfs.ext4", "-q", "-F", img)
	dev := testsys.AttachLoop(t, img)
	mnt, umount := testsys.Mount(t, dev, "rw")
	idx := &Index{Size: 0, ChunkSize: DefaultChunkSize, Entries: []Entry{}}
	idx.Hash = idx.ImageHash()
	err := Restore(ctx, idx, newMemStore(), dev, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), "mounted on "+mnt) {
		t.Errorf("restore to a mounted device: %v", err)
	}
	umount()
	// Unmounted, the same device is accepted (an empty image writes nothing).
	testsys.Must(t, Restore(ctx, idx, newMemStore(), dev, RestoreOptions{}))
}

func TestMountedAt(t *testing.T) {
	info, err := mountinfo.Parse(strings.NewReader(`22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw
35 22 7:3 / /mnt/my\040disk rw,relatime shared:5 - ext4 /dev/loop3 rw
40 22 0:45 / /srv rw shared:9 - btrfs /nonexistent/dev rw
`))
	testsys.Must(t, err)
	tests := []struct {
		rdev uint64
		want string
		ok   bool
	}{
		{unix.Mkdev(253, 0), "/", true},
		{unix.Mkdev(7, 3), "/mnt/my disk", true},
		{unix.Mkdev(7, 4), "", false},
		{unix.Mkdev(0, 45), "/srv", true},
	}
	for _, tc := range tests {
		got, ok := mountedAt(info, tc.rdev)
		if got != tc.want || ok != tc.ok {
			t.Errorf("mountedAt(%d:%d) = %q, %v; want %q, %v", unix.Major(tc.rdev), unix.Minor(tc.rdev), got, ok, tc.want, tc.ok)
		}
	}
}

func TestRestoreRefusesOtherTargets(t *testing.T) {
	idx := &Index{Size: 0, ChunkSize: DefaultChunkSize, Entries: []Entry{}}
	idx.Hash = idx.ImageHash()
	for _, dst := range []string{t.TempDir(), "/dev/null", filepath.Join(t.TempDir(), "no", "dir", "img")} {
		if err := Restore(context.Background(), idx, newMemStore(), dst, RestoreOptions{}); err == nil {
			t.Errorf("restore to %s accepted", dst)
		}
	}
}

// prefixSHA256 returns the sha256 of the first n bytes of path.
func prefixSHA256(t *testing.T, path string, n int64) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	testsys.Must(t, err)
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, n); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// readAt reads n bytes of path at off.
func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	testsys.Must(t, err)
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFailedDeviceRestoreIsRecognisable: a restore onto a device that
// held a file system fails at a missing chunk; the device's first chunk
// is then all zeros (no superblock, no partition table: blkid finds
// nothing), never the old file system over a half-written image.
func TestFailedDeviceRestoreIsRecognisable(t *testing.T) {
	testsys.RequireRoot(t, "losetup", "mkfs.ext4", "blkid")
	const size, cs = 32 * mib, 1 * mib
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, "src.img")
	writeImage(t, img, size, span{0, size, "text", 3})
	store := newMemStore()
	idx, _, err := Backup(ctx, img, store, filepath.Join(dir, "index"), Options{ChunkSize: cs})
	testsys.Must(t, err)
	delete(store.chunks, idx.Entries[20].ID) // restore fails at chunk 20

	target := filepath.Join(dir, "target.img")
	testsys.Must(t, os.WriteFile(target, nil, 0o600))
	testsys.Must(t, os.Truncate(target, size))
	testsys.Run(t, "mkfs.ext4", "-q", "-F", target)
	dev := testsys.AttachLoop(t, target)
	if out, err := exec.Command("blkid", "-p", dev).CombinedOutput(); err != nil {
		t.Fatalf("blkid finds no file system before the restore: %v %s", err, out)
	}
	err = Restore(ctx, idx, store, dev, RestoreOptions{Workers: 1})
	if err == nil || !strings.Contains(err.Error(), "chunk 20") {
		t.Fatalf("restore with a missing chunk: %v", err)
	}
	if got := readAt(t, dev, 0, cs); !isZero(got) {
		t.Error("the first chunk of a failed restore is not zeroed")
	}
	if out, err := exec.Command("blkid", "-p", dev).CombinedOutput(); err == nil {
		t.Errorf("blkid still recognises the device after a failed restore: %s", out)
	}
	// Chunks before the failure were written: the rest of the device is
	// the new image, the start of it blank.
	if got := readAt(t, dev, cs, cs); !bytes.Equal(got, readAt(t, img, cs, cs)) {
		t.Error("chunk 1 was not restored before the failure")
	}
}

// StatSource tells a block device from a file, and a read-only loop device
// (losetup -r) from a writable one; a device's changes are not tracked.
func TestStatSourceReadOnly(t *testing.T) {
	testsys.RequireRoot(t, "losetup")
	img := filepath.Join(t.TempDir(), "src.img")
	writeImage(t, img, 4*mib, span{0, mib, "text", 1})
	ro := testsys.AttachLoop(t, img, "-r")
	for _, tc := range []struct {
		src  string
		want SourceInfo
	}{
		{img, SourceInfo{Size: 4 * mib}},
		{testsys.AttachLoop(t, img), SourceInfo{Size: 4 * mib, Device: true}},
		{ro, SourceInfo{Size: 4 * mib, Device: true, ReadOnly: true}},
	} {
		if got, err := StatSource(tc.src); err != nil || got != tc.want {
			t.Errorf("StatSource(%s) = %+v, %v; want %+v", tc.src, got, err, tc.want)
		}
	}
}
