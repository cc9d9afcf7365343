package lvm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// lvSnapshot is a snapshot logical volume mounted by SnapshotLV. Fields
// without a comment are set before it is shared.
type lvSnapshot struct {
	log      *slog.Logger
	vg, name string // the snapshot volume
	origin   string // the origin's name in vg
	thin     bool
	pool     string      // the thin pool, when thin
	mnt      string      // "" with Options.NoMount
	dev      string      // the snapshot's device, known once it exists
	thinVol  *ThinVolume // the thin snapshot's identity; nil when classic or not known

	mu sync.Mutex // guards the fields below; held for all of Release
	// What is still to undo.
	mounted, dirMade, lvMade bool
	realLeft                 string   // a device-mapper "-real" device a failed lvcreate left, or ""
	lock                     *runLock // dropped once all is undone
	released                 bool
}

var _ Snapshot = (*lvSnapshot)(nil)

// ThinSnapshot is a Snapshot of a thin volume (SnapshotLV of a thin LV
// returns one): thin_delta can compare it with the snapshot an earlier
// backup kept, and it can be kept itself for the next backup.
type ThinSnapshot interface {
	Snapshot
	// Thin returns the snapshot's identity in its pool; false when lvs
	// did not report it in full (then it cannot be compared or kept).
	Thin() (ThinVolume, bool)
	// Keep makes the snapshot its origin's kept snapshot (tagged
	// lvback-kept, inactive, skipped at activation, read-only, renamed
	// "<lv>-lvback-kept-<time>"), after which Release leaves it, and
	// removes the origin's other kept snapshots. Call it only after the
	// backup that read it is complete. Its error leaves the snapshot to
	// Release, or to Cleanup when Keep died halfway.
	Keep(ctx context.Context) error
}

var _ ThinSnapshot = (*lvSnapshot)(nil)

// Thin implements ThinSnapshot.
func (s *lvSnapshot) Thin() (ThinVolume, bool) {
	if s.thinVol == nil {
		return ThinVolume{}, false
	}
	return *s.thinVol, true
}

// Keep implements ThinSnapshot.
func (s *lvSnapshot) Keep(ctx context.Context) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.released || !s.lvMade:
		return fmt.Errorf("keep %s: snapshot already released", lvRef(s.vg, s.name))
	case s.thinVol == nil:
		return fmt.Errorf("keep %s: not a thin snapshot lvs identified", lvRef(s.vg, s.name))
	case s.mounted:
		return fmt.Errorf("keep %s: snapshot is mounted", lvRef(s.vg, s.name))
	}
	if err := s.keep(ctx); err != nil {
		return err
	}
	s.lvMade = false // kept: Release leaves it
	if _, err := RemoveKept(ctx, s.log, s.vg, s.origin, s.thinVol.UUID); err != nil {
		s.log.Warn("older kept snapshot not removed; the next backup removes it", "origin", lvRef(s.vg, s.origin), "err", err)
	}
	return nil
}

// Device returns the snapshot's block device.
func (s *lvSnapshot) Device() string { return s.dev }

// MountPoint implements Snapshot.
func (s *lvSnapshot) MountPoint() string { return s.mnt }

// Check implements Snapshot: a classic snapshot is full at 100% of its
// copy-on-write area; a thin snapshot never is itself, but its pool is when
// its data or metadata reach 100%.
func (s *lvSnapshot) Check(ctx context.Context) (Fill, error) {
	s.mu.Lock()
	released := s.released
	s.mu.Unlock()
	if released {
		return Fill{}, fmt.Errorf("check %s: snapshot already released", lvRef(s.vg, s.name))
	}
	if s.thin {
		return s.checkThin(ctx)
	}
	ref := lvRef(s.vg, s.name)
	fill := Fill{Kind: kindClassic}
	row, err := lvsOne(ctx, s.log, "lv_name,lv_attr,snap_percent,data_percent", s.vg, s.name)
	if err != nil {
		return fill, err
	}
	if row.invalid() {
		fill.Percent = 100
		return fill, fmt.Errorf("%s is invalid (lv_attr %s): %w", ref, row.Attr, ErrOverflow)
	}
	p, ok, err := parsePercent(row.SnapPercent)
	if err == nil && !ok {
		p, ok, err = parsePercent(row.DataPercent)
	}
	if err != nil || !ok {
		return fill, withCause(ref+": lvs reported no fill", err)
	}
	fill.Percent = p
	if p >= 100 {
		return fill, fmt.Errorf("%s is %.2f%% full: %w", ref, p, ErrOverflow)
	}
	return fill, nil
}

// checkThin reports the fuller of the pool's data and metadata.
func (s *lvSnapshot) checkThin(ctx context.Context) (Fill, error) {
	fill := Fill{Kind: kindThin}
	rows, err := lvs(ctx, s.log, "lv_name,lv_attr,data_percent,metadata_percent", lvRef(s.vg, s.name), lvRef(s.vg, s.pool))
	if err != nil {
		return fill, err
	}
	for _, r := range rows {
		if r.Name == s.name && r.invalid() {
			fill.Percent = 100
			return fill, fmt.Errorf("%s is invalid (lv_attr %s): %w", lvRef(s.vg, s.name), r.Attr, ErrOverflow)
		}
	}
	poolRef := lvRef(s.vg, s.pool)
	for _, r := range rows {
		if r.Name != s.pool {
			continue
		}
		data, ok, err := parsePercent(r.DataPercent)
		if err != nil || !ok {
			return fill, withCause("thin pool "+poolRef+": lvs reported no data fill", err)
		}
		meta, _, err := parsePercent(r.MetadataPercent)
		if err != nil {
			return fill, fmt.Errorf("thin pool %s: %w", poolRef, err)
		}
		fill.Percent = max(data, meta)
		if fill.Percent >= 100 {
			return fill, fmt.Errorf("thin pool %s is full (data %.2f%%, metadata %.2f%%; grow the pool): %w", poolRef, data, meta, ErrOverflow)
		}
		return fill, nil
	}
	return fill, fmt.Errorf("lvs did not report thin pool %s", poolRef)
}

// Release implements Snapshot. It undoes what is left of umount, rmdir and
// lvremove, and keeps the run directory's lock until all of it succeeded,
// so that a Cleanup does not race with a retry.
func (s *lvSnapshot) Release(ctx context.Context) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return nil
	}
	var errs []error
	if s.mounted {
		if err := unmount(ctx, s.log, s.mnt); err != nil {
			errs = append(errs, err)
		} else {
			s.mounted = false
		}
	}
	if s.dirMade && !s.mounted {
		if err := os.Remove(s.mnt); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		} else {
			s.dirMade = false
		}
	}
	if s.lvMade && !s.mounted { // a mounted volume is in use: lvremove would fail
		if err := removeLV(ctx, s.log, s.vg, s.name); err != nil {
			errs = append(errs, err)
		} else {
			s.lvMade = false
			s.log.Info("snapshot removed", "lv", lvRef(s.vg, s.name))
		}
	}
	if s.realLeft != "" && !s.lvMade {
		removeUnusedDM(ctx, s.log, s.realLeft)
		s.realLeft = ""
	}
	if len(errs) > 0 {
		return fmt.Errorf("release snapshot %s: %w", lvRef(s.vg, s.name), errors.Join(errs...))
	}
	s.lock.unlock()
	s.lock, s.released = nil, true
	return nil
}

// dropLock gives up the run directory's lock without releasing s.
func (s *lvSnapshot) dropLock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lock.unlock()
	s.lock = nil
}

// removeLV runs `lvremove -f vg/name`, once more after retryDelay if it
// fails: udev or a late close may still hold the device (rsnapshot#162).
func removeLV(ctx context.Context, log *slog.Logger, vg, name string) error {
	return retryOnce(ctx, log, "lvremove "+lvRef(vg, name), func() error {
		return runChange(ctx, log, "lvremove", "-f", lvRef(vg, name))
	})
}

// removeUnusedDM removes the device-mapper device name if nothing has it
// open: the origin's "-real" device a failed lvcreate -s left beside the
// unchanged origin. LVM reuses such a device, so failing to remove it is
// only logged.
func removeUnusedDM(ctx context.Context, log *slog.Logger, name string) {
	out, err := run(ctx, log, "dmsetup", "info", "-c", "--noheadings", "-o", "open", name)
	if err != nil {
		log.Warn("unused device-mapper device not removed", "device", name, "err", err)
		return
	}
	if open := strings.TrimSpace(string(out)); open != "0" {
		log.Warn("device-mapper device in use, left in place", "device", name, "open", open)
		return
	}
	if err := runChange(ctx, log, "dmsetup", "remove", name); err != nil {
		log.Warn("unused device-mapper device not removed", "device", name, "err", err)
		return
	}
	log.Info("removed unused device-mapper device", "device", name)
}

// withCause is an error saying msg, wrapping err if there is one.
func withCause(msg string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", msg, err)
	}
	return errors.New(msg)
}
