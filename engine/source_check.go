package engine

import (
	"errors"
	"fmt"
	"os"

	"github.com/lvback/lvback/internal/btrfs"
)

// ErrSourceKind reports a volume's source that exists but is not what
// the volume says it is (a file where a directory is expected, a
// directory where an LV is); nothing was changed.
var ErrSourceKind = errors.New("wrong kind of source")

// SourceKind says in words what o's source must be: "LVM logical volume
// (block device)", "directory", "image file or block device" or "btrfs
// subvolume".
func (o *VolumeOptions) SourceKind() string {
	switch {
	case o.LV != "":
		return "LVM logical volume (block device)"
	case o.Btrfs != "":
		return "btrfs subvolume"
	case o.Blocks:
		return "image file or block device"
	}
	return "directory"
}

// Source is the LV device, directory, image or subvolume o backs up.
func (o *VolumeOptions) Source() string { return o.LV + o.Path + o.Btrfs }

// CheckSource checks, reading only, that o's source exists and is of its
// kind (SourceKind): an LV is a block device, a file-mode path a
// directory, a block-mode path a regular file or block device, a btrfs
// source the root of a subvolume. A missing source wraps
// os.ErrNotExist, one of another kind ErrSourceKind.
func CheckSource(o *VolumeOptions) error {
	src := o.Source()
	fi, err := os.Stat(src)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("source %s: %w", src, os.ErrNotExist)
	}
	if err != nil {
		return fmt.Errorf("source %s: %w", src, err)
	}
	blockDev := fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0
	var ok bool
	switch {
	case o.LV != "":
		ok = blockDev
	case o.Btrfs != "":
		if ok, err = btrfs.IsSubvolume(src); err != nil {
			return fmt.Errorf("source %s: %w", src, err)
		}
	case o.Blocks:
		ok = blockDev || fi.Mode().IsRegular()
	default:
		ok = fi.IsDir()
	}
	if !ok {
		return fmt.Errorf("source %s is a %s, not a %s: %w", src, typeWord(fi.Mode()), o.SourceKind(), ErrSourceKind)
	}
	return nil
}

// typeWord names a file's type for an operator.
func typeWord(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&os.ModeDevice != 0 && m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "block device"
	case m&os.ModeNamedPipe != 0:
		return "named pipe"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}
