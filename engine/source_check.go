package engine

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/lvback/lvback/internal/btrfs"
	"github.com/lvback/lvback/internal/toolpath"
	"github.com/lvback/lvback/lvm"
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
// kind (SourceKind): an LV is a block device that LVM lists as a logical
// volume (lvm.FindLV), a file-mode path a directory, a block-mode path a
// regular file or block device, a btrfs source the root of a subvolume.
// A missing source wraps os.ErrNotExist, one of another kind
// ErrSourceKind (and lvm.ErrNotLV for a block device that is no LV); an
// LV that cannot be checked because lvs is missing wraps
// toolpath.ErrNotFound.
func CheckSource(ctx context.Context, o *VolumeOptions) error {
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
	if ok && o.LV != "" {
		return checkLV(ctx, o)
	}
	if !ok {
		return fmt.Errorf("source %s is a %s, not a %s: %w", src, typeWord(fi.Mode()), o.SourceKind(), ErrSourceKind)
	}
	return nil
}

// checkLV asks LVM whether the block device o.LV is a logical volume.
func checkLV(ctx context.Context, o *VolumeOptions) error {
	_, err := lvm.FindLV(ctx, o.Backup.Log, o.LV)
	switch {
	case errors.Is(err, lvm.ErrNotLV):
		return fmt.Errorf("source %s is a block device but %w (lvs lists none of that name or device): %w", o.LV, lvm.ErrNotLV, ErrSourceKind)
	case errors.Is(err, toolpath.ErrNotFound):
		return fmt.Errorf("source %s: LVM tools not installed, cannot check that it is a logical volume: %w", o.LV, err)
	}
	return err
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
