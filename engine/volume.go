package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lvback/lvback/lvm"
)

// VolumeOptions is one volume to back up: a plain directory (Path), an
// LVM logical volume (LV) or a btrfs subvolume (Btrfs), exactly one.
type VolumeOptions struct {
	Backup   BackupOptions // Source is set from the snapshot's mount point
	Path     string
	LV       string
	Btrfs    string
	Snapshot lvm.Options
}

// releaseTimeout bounds the cleanup of a snapshot after the backup, which
// runs even when the run was interrupted.
const releaseTimeout = 2 * time.Minute

// BackupVolume backs up one volume. For an LV or a btrfs subvolume it
// first makes a read-only snapshot and backs up its mount point; the
// snapshot is always released (unmounted, removed), on success, on error
// and on cancellation. A snapshot that overflowed while it was read makes
// the backup fail: it never becomes complete.
func BackupVolume(ctx context.Context, o VolumeOptions) (*Result, error) {
	o.Backup = o.Backup.withDefaults()
	var snap lvm.Snapshot
	var err error
	switch {
	case o.Path != "":
		o.Backup.Source = o.Path
		return Backup(ctx, o.Backup)
	case o.LV != "":
		o.Backup.Label = o.LV
		snap, err = lvm.SnapshotLV(ctx, o.LV, o.Snapshot)
	case o.Btrfs != "":
		o.Backup.Label = o.Btrfs
		// lvback's own snapshot directory shows up empty in the snapshot
		o.Backup.Exclude = append(o.Backup.Exclude, btrfsSnapshotDir)
		snap, err = lvm.SnapshotBtrfs(ctx, o.Btrfs, o.Snapshot)
	default:
		return nil, errors.New("volume has no path, lv or btrfs source")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Backup.Name, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if rerr := snap.Release(rctx); rerr != nil {
			o.Backup.Log.Error("snapshot not released; `lvback cleanup` removes it", "volume", o.Backup.Name, "err", rerr)
		}
	}()
	o.Backup.Source = snap.MountPoint()
	o.Backup.BeforeCommit = func() error {
		fill, err := snap.Check(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		if fill.Warn() {
			o.Backup.Log.Warn("snapshot nearly full; raise snapshot_size", "volume", o.Backup.Name,
				"percent", fill.Percent, "kind", fill.Kind)
		}
		return nil
	}
	return Backup(ctx, o.Backup)
}

// btrfsSnapshotDir is the directory inside a subvolume where package lvm
// keeps its btrfs snapshots; it is never part of a backup.
const btrfsSnapshotDir = ".lvback-snapshots"
