package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// fsUsage returns the bytes used on the file system holding path and
// those still available to an unprivileged writer (statfs f_bavail).
func fsUsage(path string) (used, avail uint64, err error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(fs.Bsize)
	return (fs.Blocks - fs.Bfree) * bs, fs.Bavail * bs, nil
}
