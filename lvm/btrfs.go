package lvm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// SnapshotBtrfs makes a read-only snapshot of the btrfs subvolume at subvol
// in subvol/.lvback-snapshots/<UTC yyyymmddThhmmss> (btrfs subvolume
// snapshot -r); Release deletes it (btrfs subvolume delete) and the
// .lvback-snapshots directory when that is then empty. Check always
// reports Fill{0, "btrfs"}: a btrfs snapshot cannot overflow. o.Size is
// ignored; o.RunDir holds only the lock that keeps Cleanup away.
//
// The snapshot, and so the backup, holds .lvback-snapshots as an empty
// directory: a snapshot does not contain the subvolumes nested in it.
// o.BeforeCreate and o.AfterCreate run right around btrfs subvolume
// snapshot.
func SnapshotBtrfs(ctx context.Context, subvol string, o Options) (Snapshot, error) {
	o = o.withDefaults()
	src, err := filepath.Abs(subvol)
	if err != nil {
		return nil, err
	}
	ok, err := isSubvolume(src)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s is not the root of a btrfs subvolume", src)
	}
	lock, err := lockShared(ctx, o.RunDir)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(src, BtrfsSnapshotDir)
	s := &btrfsSnapshot{log: o.Log, dir: dir, path: BtrfsSnapshotPath(src, o.Now()), lock: lock}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		lock.unlock()
		return nil, err
	}
	if _, err := os.Lstat(s.path); err == nil {
		// Another run's snapshot of the same second: not ours to undo.
		lock.unlock()
		return nil, fmt.Errorf("%w: %s already exists", ErrCreate, s.path)
	}
	err = o.aroundCreate(ctx, func() (bool, error) {
		err := runChange(ctx, o.Log, "btrfs", "subvolume", "snapshot", "-r", src, s.path)
		_, statErr := os.Lstat(s.path)
		s.made = statErr == nil
		if err != nil {
			return s.made, fmt.Errorf("%w: %w", ErrCreate, err)
		}
		return s.made, nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		if rerr := s.Release(ctx); rerr != nil {
			s.mu.Lock()
			s.lock.unlock() // nobody will retry: leave the rest to Cleanup
			s.lock = nil
			s.mu.Unlock()
			err = errors.Join(err, fmt.Errorf("undo (run lvback cleanup): %w", rerr))
		}
		return nil, err
	}
	o.Log.Info("btrfs snapshot made", "subvolume", src, "at", s.path)
	return s, nil
}

// btrfsSnapshot is a read-only snapshot made by SnapshotBtrfs.
type btrfsSnapshot struct {
	log  *slog.Logger
	dir  string // subvol/.lvback-snapshots
	path string // the snapshot

	mu       sync.Mutex // guards the fields below; held for all of Release
	made     bool       // the snapshot exists (or may)
	lock     *runLock
	released bool
}

var _ Snapshot = (*btrfsSnapshot)(nil)

// MountPoint implements Snapshot: the snapshot's directory.
func (s *btrfsSnapshot) MountPoint() string { return s.path }

// Device returns "": a btrfs snapshot is a directory, not a device.
func (s *btrfsSnapshot) Device() string { return "" }

// Check implements Snapshot; a btrfs snapshot cannot overflow.
func (s *btrfsSnapshot) Check(context.Context) (Fill, error) {
	return Fill{Kind: kindBtrfs}, nil
}

// Release implements Snapshot.
func (s *btrfsSnapshot) Release(ctx context.Context) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return nil
	}
	if s.made {
		if err := deleteBtrfs(ctx, s.log, s.path); err != nil {
			return fmt.Errorf("release snapshot %s: %w", s.path, err)
		}
		s.made = false
	}
	os.Remove(s.dir) // only when empty: another snapshot may be in it
	s.lock.unlock()
	s.lock, s.released = nil, true
	return nil
}

// deleteBtrfs deletes the subvolume at path, if it exists.
func deleteBtrfs(ctx context.Context, log *slog.Logger, path string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return runChange(ctx, log, "btrfs", "subvolume", "delete", path)
}
