// Package btrfs creates, snapshots, flags, deletes and syncs btrfs
// subvolumes through the kernel's ioctls (linux/btrfs.h), called directly
// with golang.org/x/sys/unix. It is a thin wrapper: each function is one
// ioctl (two for SetReadOnly, which reads the flags before it writes them)
// plus the checks the kernel leaves to its callers, such as refusing to
// snapshot a directory that is not the root of a subvolume.
//
// Every error names the operation and the path and wraps the kernel's
// errno, so callers test it with errors.Is(err, unix.EEXIST) and the like;
// ErrNotSubvolume marks a path that is not the root of a subvolume.
//
// The package never runs the btrfs tool, never mounts or unmounts, never
// reads or walks the content of a subvolume, and never deletes anything
// but the one subvolume it is asked to delete (nested subvolumes make
// Delete fail with ENOTEMPTY; it does not recurse).
package btrfs

import (
	"errors"

	// lvback runs on Linux only: off Linux this import fails the build
	// with one message (see package linuxonly).
	_ "github.com/lvback/lvback/internal/linuxonly"
)

// ErrNotSubvolume is wrapped, together with unix.EINVAL, by the error of
// an operation on a path that is not the root of a btrfs subvolume (a
// directory with inode number 256 on btrfs).
var ErrNotSubvolume = errors.New("not a btrfs subvolume")

// firstFreeObjectID is the inode number of every subvolume's root
// directory (BTRFS_FIRST_FREE_OBJECTID).
const firstFreeObjectID = 256
