package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/durable"
)

// scratch is where every data set, repository and copy lives: as root a
// fresh ext4 (or btrfs, -fs btrfs) on a loop device without discard
// (baseline notes: with discard, runs after a large delete were 3-10×
// slower), else a plain temporary directory.
type scratch struct {
	work string // temporary directory holding everything; removed by close
	dir  string // where the benchmark writes
	desc string // one line for the report
	root bool   // loop mounts and mkfs are possible
	dev  string // loop device of the scratch file system, if any
	fs   string // ext4 or btrfs when dev is set
}

// newScratch makes the scratch space under parent: a sizeGiB sparse file
// system image of type fsType (ext4 or btrfs) when root and the tools are
// there. btrfs needs the loop mount: without it newScratch fails.
// btrfsMetadata is mkfs.btrfs's metadata profile (dup or single).
func newScratch(ctx context.Context, parent string, sizeGiB int, fsType, btrfsMetadata string) (*scratch, error) {
	work, err := os.MkdirTemp(parent, "lvback-bench.")
	if err != nil {
		return nil, err
	}
	s := &scratch{work: work, dir: filepath.Join(work, "data")}
	why := canLoopMount(fsType)
	if why != "" && fsType == fsBtrfs {
		return s, fmt.Errorf("-fs btrfs needs a btrfs loop mount: %s", why)
	}
	if why != "" {
		s.desc = fmt.Sprintf("temporary directory %s (%s; deletes on a file system mounted with discard may add TRIM noise)", s.dir, why)
		return s, os.Mkdir(s.dir, 0o755)
	}
	s.root = true
	img := filepath.Join(work, "scratch.img")
	if err := makeSparse(img, int64(sizeGiB)<<30); err != nil {
		return s, err
	}
	mkfs, opts := []string{"mkfs.ext4", "-q", "-F", "-E", "nodiscard", img}, "nodiscard,noinit_itable"
	if fsType == fsBtrfs {
		// nodiscard: recent kernels mount btrfs with discard=async where
		// the device supports it, and a loop device does.
		mkfs, opts = []string{"mkfs.btrfs", "-q", "-f", "-m", btrfsMetadata, img}, "nodiscard,noatime"
	}
	if err := run(ctx, mkfs...); err != nil {
		return s, err
	}
	// Direct I/O on the loop device keeps the image out of the host's
	// page cache: one cache, as on a real disk, and dd iflag=direct reads
	// the disk. Some kernels refuse it; then the loop device is buffered.
	direct := "on"
	s.dev, err = output(ctx, "losetup", "--find", "--show", "--direct-io=on", img)
	if err != nil {
		direct = "off"
		if s.dev, err = output(ctx, "losetup", "--find", "--show", img); err != nil {
			return s, err
		}
	}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		return s, err
	}
	// noinit_itable (ext4): no background inode-table zeroing during the runs.
	if err := run(ctx, "mount", "-o", opts, s.dev, s.dir); err != nil {
		return s, err
	}
	s.fs = fsType
	if fsType == fsBtrfs {
		fsType += " (metadata " + btrfsMetadata + ")"
	}
	s.desc = fmt.Sprintf("fresh %d GiB %s on %s (loop, direct-io=%s, mount -o %s) at %s", sizeGiB, fsType, s.dev, direct, opts, s.dir)
	return s, nil
}

// canLoopMount returns "" when a scratch file system can be made, else why
// not.
func canLoopMount(fsType string) string {
	if os.Geteuid() != 0 {
		return "not root: no loop mount"
	}
	need := []string{"mkfs." + fsType, "losetup", "mount", "umount"}
	if fsType == fsBtrfs {
		need = append(need, "btrfs") // btrfs subvolume sync in settle
	}
	for _, t := range need {
		if _, err := exec.LookPath(t); err != nil {
			return t + " not found"
		}
	}
	return ""
}

func makeSparse(name string, size int64) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// close unmounts and removes everything newScratch made. It is safe to
// call on a partly made scratch.
func (s *scratch) close() error {
	var errs []error
	if s.dev != "" {
		// A fresh context: close also runs after an interrupt.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := run(ctx, "umount", s.dir); err != nil {
			errs = append(errs, err)
		}
		if err := run(ctx, "losetup", "-d", s.dev); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, os.RemoveAll(s.work))
	}
	return errors.Join(errs...)
}

// settle writes back everything the previous step left dirty on the scratch
// file system and waits for the journal to go quiet. On btrfs it first
// waits for the cleaner to finish deleting the subvolumes a prune left
// (btrfs subvolume sync), so that work is not done in the next run's time.
func (s *scratch) settle(ctx context.Context) error {
	if s.fs == fsBtrfs {
		if err := run(ctx, cleanerWait(s.dir)...); err != nil {
			return err
		}
	}
	if err := durable.SyncFS(s.dir); err != nil {
		return err
	}
	time.Sleep(settlePause)
	return s.waitQuiet(ctx)
}

// waitQuiet waits until the scratch loop device has written nothing for
// quietFor, at most quietMax: after a large run btrfs goes on writing
// (delayed references, space caches) past the syncfs, and those bytes
// belong to the previous run, not to the next run's dev written.
func (s *scratch) waitQuiet(ctx context.Context) error {
	last, err := s.devWritten()
	if err != nil || last < 0 {
		return err
	}
	deadline, since := time.Now().Add(quietMax), time.Now()
	for time.Since(since) < quietFor && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(quietPoll):
		}
		now, err := s.devWritten()
		if err != nil {
			return err
		}
		if now != last {
			last, since = now, time.Now()
		}
	}
	return nil
}

// evict drops the page-cache pages of every regular file under each path
// (posix_fadvise DONTNEED after the settle's syncfs), so the next run reads
// them from the disk. Unlike drop_caches it leaves other users' caches
// alone.
func evict(paths ...string) error {
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
			if err != nil {
				return &fs.PathError{Op: "open", Path: p, Err: err}
			}
			defer unix.Close(fd)
			return unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// cleanerWait is the command that waits until the btrfs at dir has
// finished deleting every deleted subvolume: a commit (btrfs filesystem
// sync, which also wakes the cleaner; without it the cleaner starts at
// the next periodic commit, up to 30 s later), then btrfs subvolume sync,
// which polls once a second.
func cleanerWait(dir string) []string {
	return []string{"sh", "-c", `btrfs filesystem sync "$1" && btrfs subvolume sync "$1"`, "sh", dir}
}

// devWritten is the number of bytes written to the scratch file system's
// loop device so far (sectors written in /sys/block/loopN/stat), or -1
// without a loop device.
func (s *scratch) devWritten() (int64, error) {
	if s.dev == "" {
		return -1, nil
	}
	b, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(s.dev), "stat"))
	if err != nil {
		return -1, err
	}
	return sectorsWritten(string(b))
}

// sectorsWritten parses a block device's stat file (Documentation/block/stat.rst)
// and returns its write sectors field, in bytes.
func sectorsWritten(stat string) (int64, error) {
	f := strings.Fields(stat)
	if len(f) < 7 {
		return -1, fmt.Errorf("block stat %q: fewer than 7 fields", stat)
	}
	n, err := strconv.ParseInt(f[6], 10, 64)
	if err != nil {
		return -1, fmt.Errorf("block stat %q: %w", stat, err)
	}
	return n * 512, nil
}
