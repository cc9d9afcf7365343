package blockdiff

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/mountinfo"
)

// sysfsRoot is where openDevice reads sysfs; deviceUsers takes it as a
// parameter so that tests can hand it a fake tree.
const sysfsRoot = "/sys"

// blockDev is a block device as sysfs names it.
type blockDev struct {
	name string // kernel name: sda, sda1, loop0p2
	dir  string // its sysfs directory
	rdev uint64
}

// deviceUsers describes what uses the block device numbered rdev through
// its partitions, or holds it or a partition: a partition that
// mountinfo (the contents of /proc/self/mountinfo) lists as mounted, a
// holder in sysfs (device-mapper, LVM, md, bcache), a loop device whose
// backing file is the disk or a partition. sys is the sysfs root. A
// device sysfs does not know yields nothing: the exclusive open that
// follows is the last word. (The whole device's own mounts are
// mountedAt's.)
func deviceUsers(sys string, mounts []mountinfo.Entry, rdev uint64) ([]string, error) {
	dir, err := filepath.EvalSymlinks(filepath.Join(sys, "dev", "block", fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev))))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	disk := blockDev{filepath.Base(dir), dir, rdev}
	parts, err := partitions(disk)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, d := range append([]blockDev{disk}, parts...) {
		holders, err := os.ReadDir(filepath.Join(d.dir, "holders"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, h := range holders {
			users = append(users, fmt.Sprintf("%s is held by %s", d.name, h.Name()))
		}
		if d.dir == disk.dir {
			continue
		}
		if mnt, ok := mountedAt(mounts, d.rdev); ok {
			users = append(users, fmt.Sprintf("%s is mounted on %s", d.name, mnt))
		}
	}
	loops, err := loopUsers(sys, append([]blockDev{disk}, parts...))
	return append(users, loops...), err
}

// partitions returns the partitions of disk: the subdirectories of its
// sysfs directory that hold a "partition" file.
func partitions(disk blockDev) ([]blockDev, error) {
	ents, err := os.ReadDir(disk.dir)
	if err != nil {
		return nil, err
	}
	var parts []blockDev
	for _, e := range ents {
		dir := filepath.Join(disk.dir, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "partition")); err != nil {
			continue
		}
		rdev, err := readDevNumber(filepath.Join(dir, "dev"))
		if err != nil {
			return nil, err
		}
		parts = append(parts, blockDev{e.Name(), dir, rdev})
	}
	return parts, nil
}

// readDevNumber reads a sysfs "dev" file: "MAJOR:MINOR".
func readDevNumber(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var maj, mnr uint32
	if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d:%d", &maj, &mnr); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return unix.Mkdev(maj, mnr), nil
}

// loopUsers describes the loop devices whose backing file is one of devs,
// named as /dev/NAME or by any path to the same device.
func loopUsers(sys string, devs []blockDev) ([]string, error) {
	backing, err := filepath.Glob(filepath.Join(sys, "class", "block", "*", "loop", "backing_file"))
	if err != nil {
		return nil, err
	}
	var users []string
	for _, bf := range backing {
		b, err := os.ReadFile(bf)
		if err != nil {
			continue // detached meanwhile
		}
		path := strings.TrimSpace(string(b))
		loop := filepath.Base(filepath.Dir(filepath.Dir(bf)))
		for _, d := range devs {
			if path == "/dev/"+d.name || sameDevice(path, d.rdev) {
				users = append(users, fmt.Sprintf("%s is used by %s", d.name, loop))
			}
		}
	}
	return users, nil
}
