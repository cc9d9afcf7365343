package blockdiff

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// attachPartitioned attaches img (which holds a partition table) to a
// loop device with its partitions until t ends and returns the device.
// Where the kernel does not read the table itself, partx adds them.
func attachPartitioned(t testing.TB, img string) string {
	t.Helper()
	dev := testsys.AttachLoop(t, img, "-P")
	if _, err := os.Stat(dev + "p1"); err != nil {
		testsys.Run(t, "partx", "-a", dev)
	}
	return dev
}

// Restore onto a whole disk refuses it while one of its partitions is
// mounted or backs another loop device, naming the partition, and leaves
// the disk alone.
func TestRestoreRefusesDiskWithBusyPartition(t *testing.T) {
	testsys.RequireRoot(t, "losetup", "sfdisk", "partx", "mkfs.ext4", "mount", "umount")
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	writeImage(t, img, 32*mib)
	testsys.Run(t, "sh", "-c", "printf 'label: dos\\n,12M,L\\n,,L\\n' | sfdisk -q "+img)
	dev := attachPartitioned(t, img)
	testsys.Run(t, "mkfs.ext4", "-q", "-F", dev+"p1")
	idx := &Index{Size: 0, ChunkSize: DefaultChunkSize, Entries: []Entry{}}
	idx.Hash = idx.ImageHash()

	mnt, umount := testsys.Mount(t, dev+"p1", "rw")
	err := Restore(ctx, idx, newMemStore(), dev, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), filepath.Base(dev)+"p1 is mounted on "+mnt) {
		t.Errorf("restore to a disk with a mounted partition: %v", err)
	}
	umount()

	before := fileSHA256(t, dev) // a mount writes to its file system
	loop := testsys.AttachLoop(t, dev+"p2")
	err = Restore(ctx, idx, newMemStore(), dev, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), filepath.Base(dev)+"p2 is used by "+filepath.Base(loop)) {
		t.Errorf("restore to a disk whose partition backs %s: %v", loop, err)
	}
	if fileSHA256(t, dev) != before {
		t.Error("a refused restore changed the disk")
	}
}
