package engine

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/internal/durable"
	"github.com/lvback/lvback/manifest"
)

// RestoreMarker is the file a file-mode restore keeps in the target's root
// while it runs: created (durably) before the first entry is written and
// removed only after every entry was written and the target's file system
// was synced. A target that still holds it after Restore returned, or after
// the process was killed, is an incomplete restore.
const RestoreMarker = ".lvback-restore-incomplete"

// markIncomplete creates the restore marker in the target's root and makes
// it durable. An existing marker (a restore killed before, restored into
// again with --force) is replaced; a symlink in its place is never followed.
func (r *rootDir) markIncomplete(backup string) error {
	if err := clearWay(r.fd, RestoreMarker); err != nil {
		return fmt.Errorf("restore marker: %w", err)
	}
	fd, err := unix.Openat(r.fd, RestoreMarker, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create restore marker in %s: %w", r.path, err)
	}
	msg := fmt.Sprintf("lvback is restoring %s here (started %s). If this file is still here,\n"+
		"the restore did not finish: run it again with --force.\n", backup, time.Now().UTC().Format(time.RFC3339))
	_, err = unix.Write(fd, []byte(msg))
	if err == nil {
		err = unix.Fsync(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.syncRoot()
	}
	if err != nil {
		return fmt.Errorf("write restore marker in %s: %w", r.path, err)
	}
	return nil
}

// dirTimes are a directory's access and modification times, as
// UtimesNanoAt takes them.
type dirTimes [2]unix.Timespec

// times returns the target directory's times, read before the marker
// changes its mtime.
func (r *rootDir) times() (dirTimes, error) {
	var st unix.Stat_t
	if err := unix.Fstat(r.fd, &st); err != nil {
		return dirTimes{}, fmt.Errorf("stat %s: %w", r.path, err)
	}
	return dirTimes{st.Atim, st.Mtim}, nil
}

// markComplete makes everything restored durable (syncfs of the target's
// file system), then removes the marker, gives the target directory back
// its times (the removal changed its mtime): those root records when the
// backup's root was restored onto it, else kept, the ones it had before
// the restore. Last it fsyncs the target directory.
func (r *rootDir) markComplete(root *manifest.Entry, kept dirTimes) error {
	if err := durable.SyncFS(r.path); err != nil {
		return fmt.Errorf("sync restored files: %w", err)
	}
	if err := unix.Unlinkat(r.fd, RestoreMarker, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove restore marker: %w", err)
	}
	ts := kept
	if root != nil {
		m := fileops.ToTimespec(root.Mtime)
		ts = dirTimes{m, m}
	}
	if err := unix.UtimesNanoAt(r.fd, ".", ts[:], 0); err != nil {
		return fmt.Errorf("set the times of %s: %w", r.path, err)
	}
	return r.syncRoot()
}

// syncRoot fsyncs the target directory itself (its O_PATH descriptor
// cannot be fsynced; durable.SyncDirAt opens it again).
func (r *rootDir) syncRoot() error {
	if err := durable.SyncDirAt(r.fd, "."); err != nil {
		return fmt.Errorf("fsync %s: %w", r.path, err)
	}
	return nil
}

// hasRestoreMarker reports whether dir holds a restore marker (of any type).
func hasRestoreMarker(dir string) bool {
	var st unix.Stat_t
	return unix.Fstatat(unix.AT_FDCWD, dir+"/"+RestoreMarker, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}
