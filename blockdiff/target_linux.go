package blockdiff

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/mountinfo"
)

// openDevice opens a block device to restore an image of size bytes onto.
// It refuses a device that /proc/self/mountinfo lists as mounted, one
// whose partitions are mounted or which (or a partition of which) is
// held or backs a loop device (see deviceUsers), that
// the kernel reports busy for an exclusive open (mounted, swap, a
// device-mapper or md member, held by another O_EXCL opener), or that is
// smaller than size.
func openDevice(path string, size int64) (*target, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	info, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	if mnt, ok := mountedAt(info, st.Rdev); ok {
		return nil, fmt.Errorf("%s is mounted on %s: refusing to overwrite it", path, mnt)
	}
	users, err := deviceUsers(sysfsRoot, info, st.Rdev)
	if err != nil {
		return nil, fmt.Errorf("%s: find its users: %w", path, err)
	}
	if len(users) > 0 {
		return nil, fmt.Errorf("%s: %s: refusing to overwrite it", path, strings.Join(users, "; "))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EBUSY) {
		return nil, fmt.Errorf("%s is in use (mounted, swap, or held by device-mapper or another program): refusing to overwrite it", path)
	}
	if err != nil {
		return nil, err
	}
	devSize, err := blockDevSize(f)
	if err == nil && devSize < size {
		err = fmt.Errorf("%s holds %d bytes, the image needs %d: refusing it", path, devSize, size)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &target{f: f, device: true, path: path}
	t.openDirect(path)
	return t, nil
}

// mountedAt returns the mount point of the first mount in ms whose device
// number is rdev, or whose source is a /dev path naming a device with that
// number (btrfs lists anonymous device numbers).
func mountedAt(ms []mountinfo.Entry, rdev uint64) (string, bool) {
	want := fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev))
	for _, m := range ms {
		if m.Dev == want || strings.HasPrefix(m.Source, "/dev/") && sameDevice(m.Source, rdev) {
			return m.Point, true
		}
	}
	return "", false
}

// sameDevice reports whether path is a block device numbered rdev.
func sameDevice(path string, rdev uint64) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK && st.Rdev == rdev
}
