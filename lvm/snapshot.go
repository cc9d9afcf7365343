package lvm

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"time"
)

// Snapshot is a read-only, mounted, point-in-time view of one volume.
// Release must always be called (defer it), also after errors. Its methods
// are safe for concurrent use.
type Snapshot interface {
	// MountPoint is the directory to back up. It does not change. It is ""
	// for a snapshot made with Options.NoMount.
	MountPoint() string
	// Device is the snapshot's block device (for block-mode backups); ""
	// for a btrfs snapshot.
	Device() string
	// Check reports how full the snapshot's copy-on-write area is. Call
	// it after the copy: its error wraps ErrOverflow when the snapshot
	// became invalid or reached 100%, and then the backup must not be
	// trusted.
	Check(ctx context.Context) (Fill, error)
	// Release unmounts and removes the snapshot. It is idempotent: after
	// a failure, calling it again retries only what is left. It runs its
	// commands even when ctx is already cancelled, bounded by its own
	// timeout.
	Release(ctx context.Context) error
}

// Fill is how much of a snapshot's space was used.
type Fill struct {
	// Percent is the used share of the snapshot's copy-on-write area
	// (classic), of its thin pool's data or metadata, whichever is higher
	// (thin), or 0 (btrfs, which has no such limit).
	Percent float64
	// Kind is "classic", "thin" or "btrfs".
	Kind string
}

// Kinds of snapshot, as Fill.Kind reports them.
const (
	kindClassic = "classic"
	kindThin    = "thin"
	kindBtrfs   = "btrfs"
)

// Warn reports a fill of 80% or more: the snapshot held this time, but a
// busier night may overflow it, so its size (or the thin pool) should grow.
func (f Fill) Warn() bool { return f.Percent >= warnPercent }

// ErrOverflow means a snapshot's copy-on-write area filled up during the
// backup, so the data read from it may be wrong.
var ErrOverflow = errors.New("snapshot overflowed: its copy-on-write area filled up, so the backup taken from it may be wrong; raise the snapshot size")

// ErrCreate means the snapshot could not be created (e.g. the volume group
// has no free space, lvcreate exit status 5). The error wrapping it names
// the command and includes its stderr.
var ErrCreate = errors.New("snapshot creation failed")

// ErrFrozen means lvcreate -s could not suspend the origin because its file
// system is frozen (fsfreeze -f): the kernel cannot freeze it a second time.
// lvback needs no fsfreeze: device-mapper freezes a mounted origin's file
// system itself for the instant the snapshot is made. An error wrapping
// ErrFrozen also wraps ErrCreate; SnapshotLV has removed what the failed
// lvcreate left.
var ErrFrozen = errors.New("the origin's file system is frozen (fsfreeze -f?); thaw it (fsfreeze -u MOUNTPOINT): lvback needs no fsfreeze, device-mapper freezes the file system itself while it makes the snapshot")

// Options configures SnapshotLV and SnapshotBtrfs. The zero value is
// usable.
type Options struct {
	// Size is the size of a classic snapshot as lvcreate takes it: an
	// absolute size like "2G" (passed as -L) or a share like "20%ORIGIN"
	// (passed as -l). It is ignored for thin volumes, whose snapshots
	// share the pool. Empty means "10%ORIGIN".
	Size string
	// RunDir holds the mount points and the lock that tells Cleanup which
	// snapshots are in use. Empty means "/run/lvback".
	RunDir string
	// Now names the snapshot; nil means time.Now. Two snapshots of one
	// volume taken in the same second collide, and the second fails.
	Now func() time.Time
	// Log receives the commands run and the warnings; nil discards them.
	Log *slog.Logger
	// NoMount makes SnapshotLV stop after creating (and activating) the
	// snapshot: block-mode backups read Device() instead of files.
	NoMount bool
	// BeforeCreate, when set, runs right before the snapshot is created
	// (lvcreate -s, btrfs subvolume snapshot), after every check that could
	// refuse the volume: an operator's hook that quiesces an application.
	// Its error stops SnapshotLV and SnapshotBtrfs with nothing created.
	BeforeCreate func(ctx context.Context) error
	// AfterCreate, when set, runs right after the snapshot command ended,
	// whenever BeforeCreate was called (also when it failed, since it may
	// have half-quiesced the application) or, without BeforeCreate, when
	// the command ran; made says whether the snapshot exists. Its ctx is
	// never cancelled (the caller bounds it). Its error makes SnapshotLV
	// and SnapshotBtrfs fail and undo the snapshot.
	AfterCreate func(ctx context.Context, made bool) error
}

// aroundCreate runs create between o.BeforeCreate and o.AfterCreate (see
// Options); made tells whether create made the snapshot.
func (o Options) aroundCreate(ctx context.Context, create func() (made bool, err error)) error {
	after := func(made bool) error {
		if o.AfterCreate == nil {
			return nil
		}
		return o.AfterCreate(context.WithoutCancel(ctx), made)
	}
	if o.BeforeCreate != nil {
		if err := o.BeforeCreate(ctx); err != nil {
			return errors.Join(err, after(false))
		}
	}
	made, err := create()
	return errors.Join(err, after(made))
}

// withDefaults fills in the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Size == "" {
		o.Size = DefaultSize
	}
	o.RunDir = runDirOrDefault(o.RunDir)
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Log = logOrDiscard(o.Log)
	return o
}

// runDirOrDefault is dir made absolute (mountinfo has absolute paths), or
// DefaultRunDir when dir is empty.
func runDirOrDefault(dir string) string {
	if dir == "" {
		return DefaultRunDir
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

func logOrDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return log
}

// detached returns a context for cleanup work that must run even when ctx
// is cancelled, bounded by ReleaseTimeout.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), ReleaseTimeout)
}
