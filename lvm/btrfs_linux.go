package lvm

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// isSubvolume reports whether path is the root of a btrfs subvolume (a
// directory with inode number 256 on btrfs), following no final symlink.
func isSubvolume(path string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Ino != btrfsFirstFreeObjectID {
		return false, nil
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return false, fmt.Errorf("statfs %s: %w", path, err)
	}
	return fs.Type == unix.BTRFS_SUPER_MAGIC, nil
}

// btrfsFirstFreeObjectID is the inode number of every subvolume's root
// directory (BTRFS_FIRST_FREE_OBJECTID).
const btrfsFirstFreeObjectID = 256
