package lvm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/lvback/lvback/internal/toolpath"
)

// hasDeviceMapper reports whether the host has any device-mapper device
// (an LV, a snapshot): then a missing lvs means cleanup cannot look, which
// is an error; without one there is nothing LVM could have left.
func hasDeviceMapper() bool {
	dms, _ := filepath.Glob("/sys/class/block/dm-*")
	return len(dms) > 0
}

// Cleanup removes what earlier lvback processes left after a SIGKILL or a
// power loss:
//
//   - every mount below runDir (umount), and then its mount directory, as
//     well as any empty directory in runDir named like a snapshot mount;
//   - every logical volume that has the tag "lvback" AND a name matching
//     "<lv>-lvback-<UTC yyyymmddThhmmss>" (lvremove -f, retried once after a
//     second);
//   - for each path in btrfsSubvols, every subvolume in its
//     .lvback-snapshots directory named like an lvback snapshot (btrfs
//     subvolume delete).
//
// It never touches any other volume, mount or directory. It removes nothing
// and fails while a live lvback process holds snapshots in runDir (it would
// pull the snapshot from under a running backup). An empty runDir means
// "/run/lvback"; a nil log discards. It goes on after a failure and returns
// what it removed, one human-readable line each, and all failures joined.
func Cleanup(ctx context.Context, runDir string, btrfsSubvols []string, log *slog.Logger) ([]string, error) {
	c := &cleaner{log: logOrDiscard(log)}
	runDir = runDirOrDefault(runDir)
	lock, err := tryLockExclusive(runDir)
	if err != nil {
		return nil, fmt.Errorf("cleanup: %w", err)
	}
	defer lock.unlock()
	c.mounts(ctx, runDir)
	if ctx.Err() == nil {
		c.volumes(ctx)
	}
	for _, sv := range btrfsSubvols {
		if ctx.Err() == nil {
			c.btrfs(ctx, sv)
		}
	}
	if err := ctx.Err(); err != nil {
		c.errs = append(c.errs, err)
	}
	if err := errors.Join(c.errs...); err != nil {
		return c.removed, fmt.Errorf("cleanup: %w", err)
	}
	return c.removed, nil
}

// cleaner collects what one Cleanup removed and what failed.
type cleaner struct {
	log     *slog.Logger
	removed []string
	errs    []error
}

func (c *cleaner) done(what string) {
	c.log.Info("cleanup", "removed", what)
	c.removed = append(c.removed, what)
}

func (c *cleaner) fail(err error) {
	c.log.Warn("cleanup", "err", err)
	c.errs = append(c.errs, err)
}

// mounts unmounts everything below runDir, deepest first, and removes the
// mount directories and empty snapshot mount directories in it.
func (c *cleaner) mounts(ctx context.Context, runDir string) {
	if real, err := filepath.EvalSymlinks(runDir); err == nil {
		runDir = real
	}
	ms, err := mountsUnder(runDir)
	if err != nil {
		c.fail(err)
		return
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if m.Point == runDir || seen[m.Point] {
			continue
		}
		seen[m.Point] = true
		if err := unmount(ctx, c.log, m.Point); err != nil {
			c.fail(err)
			continue
		}
		c.done("unmounted " + m.Point)
		if filepath.Dir(m.Point) == runDir {
			c.rmdir(m.Point)
		}
	}
	entries, err := os.ReadDir(runDir)
	if err != nil {
		c.fail(err)
		return
	}
	for _, e := range entries {
		p := filepath.Join(runDir, e.Name())
		if e.IsDir() && isSnapshotName(e.Name()) && !seen[p] {
			c.rmdir(p)
		}
	}
}

// rmdir removes the directory dir if it is empty; a directory that is not
// empty holds someone's files and stays.
func (c *cleaner) rmdir(dir string) {
	err := os.Remove(dir)
	switch {
	case err == nil:
		c.done("removed directory " + dir)
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST):
		c.log.Warn("cleanup: directory not empty, so not lvback's; left", "dir", dir)
	default:
		c.fail(err)
	}
}

// volumes removes every logical volume lvback made.
func (c *cleaner) volumes(ctx context.Context) {
	if _, err := toolpath.Find("lvs"); err != nil {
		if hasDeviceMapper() {
			c.fail(fmt.Errorf("cannot look for leftover snapshots: %w", err))
			return
		}
		c.log.Info("cleanup: no lvs and no device-mapper device on this host, so no logical volume to remove")
		return
	}
	rows, err := lvs(ctx, c.log, "vg_name,lv_name,lv_tags")
	if err != nil {
		c.fail(fmt.Errorf("list logical volumes: %w", err))
		return
	}
	for _, r := range rows {
		// A kept snapshot's name never matches (CleanupKept's); one that
		// a run tagged lvback-kept but died before renaming does.
		if !r.hasTag(tag) || !isSnapshotName(r.Name) {
			continue
		}
		if err := removeLV(ctx, c.log, r.VG, r.Name); err != nil {
			c.fail(err)
			continue
		}
		c.done("removed logical volume " + lvRef(r.VG, r.Name))
	}
}

// btrfs deletes lvback's snapshots of the subvolume subvol.
func (c *cleaner) btrfs(ctx context.Context, subvol string) {
	dir := filepath.Join(subvol, BtrfsSnapshotDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		c.fail(err)
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !btrfsPattern.MatchString(e.Name()) {
			continue
		}
		if ok, err := isSubvolume(p); err != nil || !ok {
			if err != nil {
				c.fail(err)
			}
			continue
		}
		if err := deleteBtrfs(ctx, c.log, p); err != nil {
			c.fail(err)
			continue
		}
		c.done("deleted btrfs snapshot " + p)
	}
	os.Remove(dir) // only when empty
}

// errBusy means a live lvback process holds snapshots.
var errBusy = errors.New("another lvback process is using snapshots; nothing was removed")
