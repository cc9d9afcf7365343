package blockdiff

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// sourceSize returns the size of an open regular file or block device and
// whether SEEK_DATA may find holes in it.
func sourceSize(f *os.File) (size int64, sparse bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		return fi.Size(), true, nil
	case m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0:
		size, err := blockDevSize(f)
		return size, false, err
	default:
		return 0, false, fmt.Errorf("not a regular file or block device (%v)", m.Type())
	}
}

// blockDevSize returns a block device's size in bytes (BLKGETSIZE64).
func blockDevSize(f *os.File) (int64, error) {
	n, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
	if err != nil {
		return 0, fmt.Errorf("BLKGETSIZE64: %w", err)
	}
	return int64(n), nil
}

// adviseSequential tells the kernel to read ahead aggressively; it is
// only a hint, so failure is ignored.
func adviseSequential(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}

// nextData returns the first data offset at or after off and the end of
// that data extent (size when there is no data, or when the file system
// cannot tell holes: then everything from off is data).
func nextData(f *os.File, off, size int64) (data, end int64, err error) {
	fd := int(f.Fd())
	data, err = unix.Seek(fd, off, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO): // only a hole up to the end
		return size, size, nil
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP):
		return off, size, nil
	case err != nil:
		return 0, 0, fmt.Errorf("SEEK_DATA: %w", err)
	}
	end, err = unix.Seek(fd, data, unix.SEEK_HOLE)
	if err != nil {
		return 0, 0, fmt.Errorf("SEEK_HOLE: %w", err)
	}
	return min(data, size), min(end, size), nil
}
