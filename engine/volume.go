package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
)

// VolumeOptions is one volume to back up: a plain directory or image
// (Path), an LVM logical volume (LV) or a btrfs subvolume (Btrfs), exactly
// one, in file mode or (Blocks) block mode.
type VolumeOptions struct {
	Backup BackupOptions // Source is set from the snapshot's mount point
	Blocks bool          // block mode: Path is an image or device; an LV's snapshot is read as a device
	Path   string
	LV     string
	Btrfs  string
	// Snapshot says how the LV or btrfs snapshot is made (size, run
	// directory); its Log defaults to Backup.Log.
	Snapshot lvm.Options
	// Hooks run right around the snapshot's creation (LV and btrfs only).
	Hooks SnapshotHooks
	// RequireSnapshot refuses a Path that may be written while it is
	// read: a directory (ErrNotSnapshot), and in block mode what
	// BlockOptions.RequireSnapshot refuses. An LV or btrfs snapshot
	// always passes.
	RequireSnapshot bool
	// FullRead is BlockOptions.FullRead: read an unchanged image file,
	// and a thin LV's whole snapshot.
	FullRead bool
	// FullReadEvery is ThinSource.FullReadEvery: how old the newest full
	// read of a thin LV in block mode may be.
	FullReadEvery time.Duration

	thin *ThinSource // the thin snapshot being read in block mode
}

// BackupVolume backs up one volume. For an LV or a btrfs subvolume it
// first makes a read-only snapshot and backs up its mount point (or, in
// block mode, the snapshot's device); the snapshot is always released
// (unmounted, removed), on success, on error and on cancellation, except
// a thin LV's in block mode after a complete backup: that one is kept
// (lvm.ThinSnapshot.Keep), replacing the one kept before, so that the
// next backup reads only what thin_delta says changed since. A
// snapshot that overflowed while it was read makes the backup fail: it
// never becomes complete.
func BackupVolume(ctx context.Context, o VolumeOptions) (*Result, error) {
	o.Backup = o.Backup.withDefaults()
	if o.Path != "" {
		if o.RequireSnapshot && !o.Blocks {
			return nil, fmt.Errorf("%s: directory %s is %w: use --lv or --btrfs", o.Backup.Name, o.Path, ErrNotSnapshot)
		}
		o.Backup.Source = o.Path
		return o.backup(ctx)
	}
	if o.Snapshot.Log == nil {
		o.Snapshot.Log = o.Backup.Log
	}
	if !o.Backup.Locked {
		// The volume's lock comes before the snapshot and its hooks: a
		// volume another run is backing up is not snapshotted (nor its
		// guest quiesced) for nothing.
		r, err := repo.Open(o.Backup.Repo)
		if err != nil {
			return nil, err
		}
		l, err := r.LockVolume(o.Backup.Name)
		if err != nil {
			return nil, err
		}
		defer l.Unlock()
		o.Backup.Locked, o.Backup.held = true, l
	}
	o.applyHooks()
	snap, err := o.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Backup.Name, err)
	}
	defer func() {
		// the release runs even when the run was interrupted
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lvm.ReleaseTimeout)
		defer cancel()
		if rerr := snap.Release(rctx); rerr != nil {
			o.Backup.Log.Error("snapshot not released; `lvback cleanup` removes it", "volume", o.Backup.Name, "err", rerr)
		}
	}()
	o.Backup.Source = snap.MountPoint()
	ts, _ := snap.(lvm.ThinSnapshot)
	if o.Blocks {
		o.Backup.Source = snap.Device()
		if ts != nil {
			if t, ok := ts.Thin(); ok {
				o.thin = &ThinSource{Snapshot: t, RunDir: o.Snapshot.RunDir, FullReadEvery: o.FullReadEvery}
			}
		}
	}
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
	res, err := o.backup(ctx)
	if err == nil && o.thin != nil {
		// The next backup compares its snapshot with this one.
		if kerr := ts.Keep(ctx); kerr != nil {
			o.Backup.Log.Warn("snapshot not kept: the next backup reads the whole volume", "volume", o.Backup.Name, "err", kerr)
		}
	}
	return res, err
}

// snapshot makes the LV or btrfs snapshot the volume is read from.
func (o *VolumeOptions) snapshot(ctx context.Context) (lvm.Snapshot, error) {
	switch {
	case o.LV != "":
		o.Backup.Label = o.LV
		o.Snapshot.NoMount = o.Blocks
		return lvm.SnapshotLV(ctx, o.LV, o.Snapshot)
	case o.Btrfs != "" && o.Blocks:
		return nil, errors.New("block mode needs an image, a device or an LV, not a btrfs subvolume")
	case o.Btrfs != "":
		o.Backup.Label = o.Btrfs
		// lvback's own snapshot directory shows up empty in the snapshot
		o.Backup.Exclude = append(o.Backup.Exclude, lvm.BtrfsSnapshotDir)
		return lvm.SnapshotBtrfs(ctx, o.Btrfs, o.Snapshot)
	}
	return nil, errors.New("volume has no path, lv or btrfs source")
}

// backup runs the file-mode or block-mode backup of o.Backup.Source.
func (o *VolumeOptions) backup(ctx context.Context) (*Result, error) {
	if !o.Blocks {
		return Backup(ctx, o.Backup)
	}
	return BackupBlocks(ctx, o.blockOptions())
}

// blockOptions are the options of o's block-mode backup: all of o.Backup,
// and whether its source is lvback's own snapshot.
func (o *VolumeOptions) blockOptions() BlockOptions {
	return BlockOptions{BackupOptions: o.Backup, Snapshot: o.Path == "", RequireSnapshot: o.RequireSnapshot, FullRead: o.FullRead, Thin: o.thin}
}
