package main

import (
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// errNoBirthTime means the file system does not report creation times, so
// bytes written cannot be told apart from bytes that were there.
var errNoBirthTime = errors.New("file system reports no birth time (statx btime)")

// clockSlack covers the kernel's coarse file-time clock, which may lag the
// wall clock by a tick: an inode born up to this long before a run started
// still counts as the run's. Nothing else writes to the destination in
// the settle pause before a run, which is longer.
const clockSlack = 50 * time.Millisecond

// writtenSince sums the allocated size (st_blocks) of every inode under
// root (root included) created at or after since, counting each inode
// once, so hard links to older files cost nothing and a new hard-linked
// file costs once, as du counts. A missing root wrote nothing.
func writtenSince(root string, since time.Time) (int64, error) {
	type key struct {
		dev uint64
		ino uint64
	}
	seen := map[key]bool{}
	floor := since.Add(-clockSlack)
	var total int64
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipAll
			}
			return err
		}
		var st unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME|unix.STATX_BLOCKS|unix.STATX_INO, &st); err != nil {
			return &fs.PathError{Op: "statx", Path: p, Err: err}
		}
		if st.Mask&unix.STATX_BTIME == 0 {
			return errNoBirthTime
		}
		k := key{uint64(st.Dev_major)<<32 | uint64(st.Dev_minor), st.Ino}
		if seen[k] || time.Unix(st.Btime.Sec, int64(st.Btime.Nsec)).Before(floor) {
			return nil
		}
		seen[k] = true
		total += int64(st.Blocks) * 512
		return nil
	})
	return total, err
}
