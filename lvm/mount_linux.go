package lvm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/lvback/lvback/internal/mountinfo"
)

// baseMountOptions are the options of every snapshot mount: read-only, and
// nothing on it can gain privileges, act as a device or run.
const baseMountOptions = "ro,nosuid,nodev,noexec"

// fsMountOptions are the file systems SnapshotLV mounts, with the options
// each needs beyond baseMountOptions. A snapshot of a mounted file system is
// dirty: a read-only mount must not replay its journal (ext3/ext4 noload,
// xfs norecovery), and XFS refuses a second file system with the origin's
// UUID unless told nouuid.
var fsMountOptions = map[string]string{
	"ext2": "",
	"ext3": "noload",
	"ext4": "noload",
	"xfs":  "nouuid,norecovery",
}

// mountOptions returns the mount options for a snapshot holding fstype.
func mountOptions(fstype string) (string, error) {
	extra, ok := fsMountOptions[fstype]
	switch {
	case fstype == "btrfs":
		return "", errors.New("btrfs on a logical volume is not snapshotted with LVM: the snapshot has its origin's file system UUID, and btrfs may then use the wrong device; snapshot the subvolume with SnapshotBtrfs instead")
	case !ok:
		return "", fmt.Errorf("cannot mount a snapshot of a %q file system: lvback mounts ext2, ext3, ext4 and xfs", fstype)
	case extra == "":
		return baseMountOptions, nil
	}
	return baseMountOptions + "," + extra, nil
}

// mountSnapshot detects the file system on dev and mounts it read-only at
// dir with mountOptions.
func mountSnapshot(ctx context.Context, log *slog.Logger, dev, dir string) error {
	// -p probes the device itself: blkid's cache trusts an entry younger
	// than two seconds, which a reused device name can make stale.
	out, err := run(ctx, log, "blkid", "-p", "-o", "value", "-s", "TYPE", dev)
	fstype := strings.TrimSpace(string(out))
	if err != nil {
		return fmt.Errorf("no file system found on %s: %w", dev, err)
	}
	if fstype == "" {
		return fmt.Errorf("no file system found on %s", dev)
	}
	opts, err := mountOptions(fstype)
	if err != nil {
		return fmt.Errorf("%s: %w", dev, err)
	}
	_, err = run(ctx, log, "mount", "-t", fstype, "-o", opts, dev, dir)
	return err
}

// mountsUnder returns the mounts at or below dir, deepest first. dir's
// symlinks are resolved, as the kernel reports real paths.
func mountsUnder(dir string) ([]mountEntry, error) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	ms, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	return mountinfo.Under(ms, dir), nil
}

// isMountPoint reports whether something is mounted at dir.
func isMountPoint(dir string) (bool, error) {
	ms, err := mountsUnder(dir)
	if err != nil {
		return false, err
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	for _, m := range ms {
		if m.Point == filepath.Clean(dir) {
			return true, nil
		}
	}
	return false, nil
}

// unmount unmounts what is mounted at dir (nothing, if nothing is; each of
// several stacked mounts), retrying a failed umount once: a file closed
// late keeps a mount busy briefly.
func unmount(ctx context.Context, log *slog.Logger, dir string) error {
	for range maxStacked {
		mounted, err := isMountPoint(dir)
		if err != nil || !mounted {
			return err
		}
		err = retryOnce(ctx, log, "umount "+dir, func() error {
			_, err := run(ctx, log, "umount", dir)
			return err
		})
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("umount %s: still mounted after %d unmounts", dir, maxStacked)
}
