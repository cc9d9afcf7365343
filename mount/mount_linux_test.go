package mount

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/btrfs/btrfstest"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/repo"
)

// mountRepo mounts the repository at a new directory until t ends and
// returns the mount point, or skips t naming what is missing.
func mountRepo(t *testing.T, repoPath string) string {
	t.Helper()
	return mountRepoWith(t, repoPath, Options{})
}

// mountRepoWith is mountRepo with options.
func mountRepoWith(t *testing.T, repoPath string, o Options) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: mounting a FUSE file system here needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse (load the fuse module): %v", err)
	}
	mnt := t.TempDir()
	srv, err := Mount(repoPath, mnt, o)
	testsys.Must(t, err)
	t.Cleanup(func() {
		// A loop device detached just before may hold the file a moment.
		for try := 0; ; try++ {
			err := srv.Unmount()
			if err == nil || try == 50 {
				testsys.Must(t, err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		srv.Wait()
	})
	return mnt
}

// Each file-mode backup's directory in the mount equals its tree
// (content, types, links, modes, owners, mtimes, xattrs), also when two
// backups share files (hard links between their trees, one inode), and
// the mount refuses writes with EROFS.
func TestMountFileBackups(t *testing.T) {
	testsys.RequireRoot(t, "rsync")
	src := t.TempDir()
	testtree.Create(t, src, testtree.Random(7, 200))
	repoPath := filepath.Join(t.TempDir(), "repo")
	_, err := engine.Init(repoPath, repo.Settings{})
	btrfstest.DeleteSubvolumesAtCleanup(t, repoPath)
	testsys.Must(t, err)
	var ids []string
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for day := range 2 {
		if day == 1 {
			testsys.Must(t, os.WriteFile(filepath.Join(src, "changed"), []byte("day 2"), 0o644))
		}
		_, err = engine.Backup(context.Background(), engine.BackupOptions{Repo: repoPath, Name: "home", Source: src,
			Now: func() time.Time { return now.AddDate(0, 0, day) }})
		testsys.Must(t, err)
		ids = append(ids, latest(t, repoPath, "home").ID)
	}
	mnt := mountRepo(t, repoPath)
	r, err := repo.Open(repoPath)
	testsys.Must(t, err)
	// Read the newer one first, so that shared inodes are first met there.
	for _, id := range []string{ids[1], ids[0]} {
		b, err := r.Find("home", id)
		testsys.Must(t, err)
		served := filepath.Join(mnt, "home", id)
		if d := testtree.RsyncDiff(t, b.TreePath(), served); d != "" {
			t.Errorf("the mount of %s differs from the backup's tree:\n%s", id, d)
		}
	}
	served := filepath.Join(mnt, "home", ids[1])
	if d := testtree.RsyncDiff(t, src, served); d != "" {
		t.Errorf("the mount differs from the source:\n%s", d)
	}
	err = os.WriteFile(filepath.Join(served, "new"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("creating a file in the mount: %v, want EROFS", err)
	}
}

// A block backup of a partitioned disk image, served as NAME.img, attaches
// read-only to a loop device whose ext4 partition mounts and holds the
// original's files; SEEK_HOLE finds the image's holes.
func TestMountPartitionedImage(t *testing.T) {
	testsys.RequireRoot(t, "losetup", "sfdisk", "partx", "mkfs.ext4", "mount", "umount", "rsync")
	dir := t.TempDir()
	img := testsys.Image(t, filepath.Join(dir, "disk.img"), 96<<20)
	testsys.Run(t, "sh", "-c", "printf 'label: gpt\\n,40M,L\\n,,L\\n' | sfdisk -q "+img)
	want := filepath.Join(dir, "want")
	testsys.Must(t, os.Mkdir(want, 0o755))
	testtree.Create(t, want, testtree.Random(11, 150))
	orig := attachPartitioned(t, img)
	testsys.Run(t, "mkfs.ext4", "-q", "-F", orig+"p2")
	mnt, umount := testsys.Mount(t, orig+"p2", "rw")
	testtree.Copy(t, want, mnt)
	umount()
	repoPath, b := blockBackup(t, img, "guest", 1<<20)
	fuseMnt := mountRepo(t, repoPath)

	served := filepath.Join(fuseMnt, "guest", b.ID, "guest.img")
	f, err := os.Open(served)
	testsys.Must(t, err)
	hole, err := f.Seek(0, seekHole)
	testsys.Must(t, err)
	f.Close()
	if hole == 0 || hole >= 96<<20 {
		t.Errorf("SEEK_HOLE from 0 found %d: no hole inside the image", hole)
	}
	dev := attachPartitioned(t, served, "-r")
	got, _ := testsys.Mount(t, dev+"p2", "ro")
	if d := testtree.RsyncDiff(t, want, got); d != "" {
		t.Errorf("the partition mounted from the served image differs:\n%s", d)
	}
}

// attachPartitioned attaches img with its partitions (and losetup's extra
// options) until t ends and returns the device; where the kernel does not
// read the table itself, partx adds the partitions.
func attachPartitioned(t *testing.T, img string, options ...string) string {
	t.Helper()
	dev := testsys.AttachLoop(t, img, append(options, "-P")...)
	if _, err := os.Stat(dev + "p1"); err != nil {
		testsys.Run(t, "partx", "-a", dev)
	}
	return dev
}

// A served image backs a qcow2 overlay (how a guest is booted from a
// backup), and the overlay reads as the original image, holes included.
func TestMountQcow2Overlay(t *testing.T) {
	testsys.RequireRoot(t, "qemu-img")
	img, _ := writeTestImage(t)
	repoPath, b := blockBackup(t, img, "vm", testChunk)
	mnt := mountRepo(t, repoPath)
	overlay := filepath.Join(t.TempDir(), "overlay.qcow2")
	testsys.Run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
		"-b", filepath.Join(mnt, "vm", b.ID, "vm.img"), overlay)
	testsys.Run(t, "qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw", overlay, img)
}

// Through the mount, a damaged chunk fails the reads that touch it with
// EIO, logged with the chunk's number, and no others; the mount stays up.
func TestMountCorruptChunkEIO(t *testing.T) {
	img, want := writeTestImage(t)
	repoPath, b := blockBackup(t, img, "vm", testChunk)
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	testsys.Must(t, err)
	const bad = 10
	testsys.Must(t, idx.Each(func(i int, e blockdiff.Entry) error {
		if i == bad {
			corruptChunk(t, repoPath, e.ID)
		}
		return nil
	}))
	var log testsys.Buffer
	mnt := mountRepoWith(t, repoPath, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	f, err := os.Open(filepath.Join(mnt, "vm", b.ID, "vm.img"))
	testsys.Must(t, err)
	defer f.Close()
	for _, tt := range []struct {
		off   int64
		fails bool
	}{{(bad - 1) * testChunk, false}, {bad*testChunk + 8192, true}, {(bad + 1) * testChunk, false}, {bad * testChunk, true}} {
		got := make([]byte, 4096)
		_, err := f.ReadAt(got, tt.off)
		if tt.fails != errors.Is(err, syscall.EIO) {
			t.Errorf("read at %d: %v, want EIO %v", tt.off, err, tt.fails)
		}
		if !tt.fails && !bytes.Equal(got, want[tt.off:tt.off+4096]) {
			t.Errorf("read at %d: bytes differ", tt.off)
		}
	}
	if !strings.Contains(log.String(), "chunk 10 at offset") {
		t.Errorf("the damaged chunk was not logged: %q", log.String())
	}
}
