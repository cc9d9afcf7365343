package blockdiff

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames oldpath to newpath unless newpath exists, in
// which case the error wraps fs.ErrExist and nothing changes. On a file
// system without RENAME_NOREPLACE it links and unlinks instead.
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) {
		if err = unix.Link(oldpath, newpath); err == nil {
			return os.Remove(oldpath)
		}
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// startWriteback asks the kernel to start writing f's data now, without
// waiting for it, so that the syncfs of DirStore.Sync finds little left to
// do. It is only a hint.
func startWriteback(f *os.File) {
	_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
