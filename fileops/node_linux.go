package fileops

import (
	"errors"
	"fmt"
	"os"

	"github.com/lvback/lvback/manifest"
	"golang.org/x/sys/unix"
)

// MakeNode creates the FIFO, socket, character or block device e describes at
// path, with mode 0600 (ApplyMeta sets the real one) and, for a device, the
// device number e.Rdev. It fails if path exists. Creating a device without
// the privilege to do so returns an error wrapping ErrNotPermitted.
func MakeNode(path string, e *manifest.Entry) error {
	var kind uint32
	var dev uint64
	switch e.Type {
	case manifest.TypeFIFO:
		kind = unix.S_IFIFO
	case manifest.TypeSocket:
		kind = unix.S_IFSOCK
	case manifest.TypeChar:
		kind, dev = unix.S_IFCHR, e.Rdev
	case manifest.TypeBlock:
		kind, dev = unix.S_IFBLK, e.Rdev
	default:
		return fmt.Errorf("mknod %s: %s is not a special file", path, e.Type)
	}
	err := unix.Mknod(path, kind|0o600, int(dev))
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("mknod %s: %w", path, ErrNotPermitted)
	}
	if err != nil {
		return &os.PathError{Op: "mknod", Path: path, Err: err}
	}
	return nil
}
