package fileops

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Reflink creates dst (exclusively, mode 0600, not following a symlink) sharing
// all extents of the regular file src (FICLONE): no data is copied and later
// writes to either file do not affect the other. The error wraps ErrNoReflink
// when the file system, or the pair of file systems, cannot share extents. On
// any error dst is removed (unless it existed before).
func Reflink(dst, src string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	return ReflinkFrom(dst, in)
}

// ReflinkFrom is Reflink from the open regular file in (opened for
// reading), such as one a Tree opened.
func ReflinkFrom(dst string, in *os.File) (err error) {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(dst)
		}
	}()
	return Clone(out, in)
}

// Clone makes out share all of in's extents (FICLONE): out then holds
// in's bytes without their being written again. A file system that
// cannot (another file system, no reflinks) gives an error wrapping
// ErrNoReflink.
func Clone(out, in *os.File) error {
	err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd()))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EXDEV),
		errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOTTY):
		return fmt.Errorf("reflink %s to %s: %w (%w)", in.Name(), out.Name(), ErrNoReflink, err)
	}
	return fmt.Errorf("reflink %s to %s: %w", in.Name(), out.Name(), err)
}
