package lvm

import "time"

// The defaults of Options and the package's fixed choices, each with its
// reason. The exported ones are the package's own, used by engine and
// cmd/lvback rather than written again there.
const (
	// DefaultSize is the classic snapshot size when Options.Size is empty:
	// a tenth of the origin is borgmatic's LVM hook default, enough for a
	// night's writes on most servers; Check reports when it was not.
	DefaultSize = "10%ORIGIN"

	// DefaultRunDir holds the mount points (Options.RunDir when empty), and
	// is where Cleanup looks. /run is a tmpfs, so a reboot never leaves a
	// stale mount point behind, and it is root's own.
	DefaultRunDir = "/run/lvback"

	// warnPercent is the fill at which Fill.Warn reports a snapshot that
	// came close to overflowing: at 80% the next, busier night may overflow.
	warnPercent = 80

	// ReleaseTimeout bounds Release (callers give it a context detached
	// from theirs with this deadline) and the undo of a failed SnapshotLV,
	// which run even when the caller's context is cancelled: removing a
	// snapshot takes seconds, but lvremove may wait for udev (up to its own
	// timeout of about a minute), so allow two.
	ReleaseTimeout = 2 * time.Minute

	// changeTimeout bounds a command that changes LVM metadata (lvcreate,
	// lvchange, lvremove). Such a command is never killed because the
	// caller's context was cancelled: lvcreate suspends the origin while it
	// loads the snapshot, and killing it then would leave the live volume
	// suspended. Only a command hung for this long is killed.
	changeTimeout = 5 * time.Minute

	// retryDelay is the pause before the single retry of lvremove or umount:
	// both fail transiently while udev or a late close still holds the
	// device (rsnapshot#162).
	retryDelay = time.Second

	// maxStacked bounds how many mounts stacked on one directory unmount
	// removes, so a umount that reports success without effect cannot
	// loop forever.
	maxStacked = 8

	// lockPoll is how often SnapshotLV retries to share the run directory's
	// lock while a Cleanup holds it (for well under a second, normally).
	lockPoll = 50 * time.Millisecond

	// tag marks every logical volume lvback creates.
	tag = "lvback"

	// timeLayout names snapshots: UTC, sortable, no characters that LVM or
	// a path would need to escape.
	timeLayout = "20060102T150405"

	// BtrfsSnapshotDir is the directory inside a btrfs subvolume that
	// holds lvback's snapshots of it. A snapshot shows it empty, and a
	// backup leaves it out.
	BtrfsSnapshotDir = ".lvback-snapshots"

	// lockName is the lock file in the run directory: every process holding
	// snapshots shares it, Cleanup needs it alone.
	lockName = "lock"

	// maxStderr caps how much of a failed command's stderr goes into its
	// error.
	maxStderr = 2048
)
