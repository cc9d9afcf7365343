package lvm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
)

// ThinVolume identifies one thin snapshot in its pool: what a block
// backup records of the snapshot it read, and what the next run checks
// before it trusts thin_delta against the snapshot it kept. The device id,
// UUID and creation time stay when the volume is renamed.
type ThinVolume struct {
	VG     string `json:"vg"`
	Pool   string `json:"pool"`
	Origin string `json:"origin"`
	Name   string `json:"name"` // at the time it was identified
	UUID   string `json:"lv_uuid"`
	ThinID int64  `json:"thin_id"`
	// Transaction is the pool's transaction id when the volume was
	// identified: it only grows while the pool's metadata is the same.
	Transaction int64  `json:"transaction_id"`
	Created     string `json:"created"` // lv_time
	Size        int64  `json:"size"`    // bytes
}

// Same reports whether t and u are the same thin device of the same pool
// (renames aside).
func (t ThinVolume) Same(u ThinVolume) bool {
	return t.VG == u.VG && t.Pool == u.Pool && t.Origin == u.Origin && t.UUID == u.UUID &&
		t.ThinID == u.ThinID && t.Created == u.Created
}

// Pool is a thin pool as lvs reports it.
type Pool struct {
	VG, Name    string
	Transaction int64
	Size        int64   // bytes of data space
	DataPercent float64 // used share of the data space
}

// ErrNoThinDelta wraps every reason a thin snapshot cannot be compared
// with thin_delta: the caller reads the whole volume instead.
var ErrNoThinDelta = errors.New("thin_delta cannot be used")

// keptTag marks the one thin snapshot per volume that lvback keeps
// between block backups for thin_delta; Cleanup leaves it, CleanupKept
// removes it.
const keptTag = "lvback-kept"

// keptPattern matches kept snapshots' names: "<lv>-lvback-kept-<UTC
// yyyymmddThhmmss>". It never matches snapshotPattern, so Cleanup cannot
// take one for a leftover.
var keptPattern = regexp.MustCompile(`^([A-Za-z0-9+_.-]+)-lvback-kept-([0-9]{8}T[0-9]{6})$`)

// keptName is the name a snapshot called snap (snapshotName) gets when
// it is kept.
func keptName(snap string) string {
	i := strings.LastIndex(snap, "-lvback-")
	return snap[:i] + "-lvback-kept-" + snap[i+len("-lvback-"):]
}

// thinFields are the lvs fields thinReport asks for.
const thinFields = "vg_name,lv_name,lv_uuid,lv_attr,segtype,pool_lv,origin,lv_tags,lv_size,lv_time,thin_id,transaction_id,data_percent"

// thinReport lists every volume of vg with the fields thin_delta's
// checks need, sizes in bytes.
func thinReport(ctx context.Context, log *slog.Logger, vg string) ([]lvRow, error) {
	out, err := run(ctx, log, "lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", thinFields, vg)
	if err != nil {
		return nil, err
	}
	return parseReport(out)
}

// thinVolume is row's identity, with its pool's transaction id taken
// from rows.
func thinVolume(row lvRow, rows []lvRow) (ThinVolume, error) {
	t := ThinVolume{VG: row.VG, Pool: row.Pool, Origin: row.Origin, Name: row.Name, UUID: row.UUID, Created: row.Time}
	var err error
	if t.ThinID, err = strconv.ParseInt(row.ThinID, 10, 64); err != nil {
		return t, fmt.Errorf("%s: lvs printed thin_id %q: %w", lvRef(row.VG, row.Name), row.ThinID, ErrNoThinDelta)
	}
	if t.Size, err = strconv.ParseInt(row.Size, 10, 64); err != nil {
		return t, fmt.Errorf("%s: lvs printed lv_size %q: %w", lvRef(row.VG, row.Name), row.Size, ErrNoThinDelta)
	}
	p, err := poolOf(row.VG, row.Pool, rows)
	if err != nil {
		return t, err
	}
	t.Transaction = p.Transaction
	if t.UUID == "" || t.Created == "" || t.Pool == "" {
		return t, fmt.Errorf("%s: lvs printed no uuid, time or pool: %w", lvRef(row.VG, row.Name), ErrNoThinDelta)
	}
	return t, nil
}

// poolOf finds the thin pool vg/name in rows.
func poolOf(vg, name string, rows []lvRow) (Pool, error) {
	for _, r := range rows {
		if r.VG != vg || r.Name != name {
			continue
		}
		p := Pool{VG: vg, Name: name}
		var err error
		if p.Transaction, err = strconv.ParseInt(r.Transaction, 10, 64); err != nil {
			return p, fmt.Errorf("thin pool %s: lvs printed transaction_id %q: %w", lvRef(vg, name), r.Transaction, ErrNoThinDelta)
		}
		p.Size, _ = strconv.ParseInt(r.Size, 10, 64)
		p.DataPercent, _, _ = parsePercent(r.DataPercent)
		return p, nil
	}
	return Pool{}, fmt.Errorf("lvs did not report thin pool %s: %w", lvRef(vg, name), ErrNoThinDelta)
}

// Kept lists the kept snapshots of the thin volume vg/origin (normally
// one; two after a run died between keeping the new one and removing
// the old), and its pool as it is now.
func Kept(ctx context.Context, log *slog.Logger, vg, origin string) ([]ThinVolume, Pool, error) {
	log = logOrDiscard(log)
	rows, err := thinReport(ctx, log, vg)
	if err != nil {
		return nil, Pool{}, err
	}
	var pool Pool
	var kept []ThinVolume
	for _, r := range rows {
		if r.Name == origin && r.thin() {
			if pool, err = poolOf(vg, r.Pool, rows); err != nil {
				return nil, pool, err
			}
		}
	}
	for _, r := range rows {
		if !isKept(r) || r.Origin != origin {
			continue
		}
		t, err := thinVolume(r, rows)
		if err != nil {
			log.Warn("kept snapshot not understood; it is not used", "lv", lvRef(vg, r.Name), "err", err)
			continue
		}
		kept = append(kept, t)
	}
	return kept, pool, nil
}

// isKept reports whether r is a snapshot lvback kept: tagged lvback and
// lvback-kept, and named like one.
func isKept(r lvRow) bool {
	return r.hasTag(tag) && r.hasTag(keptTag) && keptPattern.MatchString(r.Name)
}

// RemoveKept removes the kept snapshots of vg/origin other than the
// one whose UUID is keep ("" removes all), and returns their names.
func RemoveKept(ctx context.Context, log *slog.Logger, vg, origin, keep string) ([]string, error) {
	log = logOrDiscard(log)
	kept, _, err := Kept(ctx, log, vg, origin)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, k := range kept {
		if k.UUID == keep {
			continue
		}
		if err := removeLV(ctx, log, k.VG, k.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("kept snapshot removed", "lv", lvRef(k.VG, k.Name))
		removed = append(removed, lvRef(k.VG, k.Name))
	}
	return removed, errors.Join(errs...)
}

// KeptSnapshot is one kept thin snapshot as CleanupKept and ListKept see
// it: its volume group, name, origin and how much of its pool only it
// maps (estimated as its mapped share; lvs reports no exclusive figure).
type KeptSnapshot struct {
	VG, Name, Origin string
	Mapped           int64 // bytes of the snapshot the pool maps (lv_size × data_percent)
}

// ListKept lists every kept snapshot on the host; selected, when set,
// narrows it.
func ListKept(ctx context.Context, log *slog.Logger) ([]KeptSnapshot, error) {
	log = logOrDiscard(log)
	out, err := run(ctx, log, "lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", "vg_name,lv_name,origin,lv_tags,lv_size,data_percent")
	if err != nil {
		return nil, err
	}
	rows, err := parseReport(out)
	if err != nil {
		return nil, err
	}
	var kept []KeptSnapshot
	for _, r := range rows {
		if !isKept(r) {
			continue
		}
		size, _ := strconv.ParseInt(r.Size, 10, 64)
		p, _, _ := parsePercent(r.DataPercent)
		kept = append(kept, KeptSnapshot{VG: r.VG, Name: r.Name, Origin: r.Origin, Mapped: int64(float64(size) * p / 100)})
	}
	return kept, nil
}

// CleanupKept removes the kept snapshots for which drop returns true
// (nil: all), and returns what it removed, one line each.
func CleanupKept(ctx context.Context, log *slog.Logger, drop func(KeptSnapshot) bool) ([]string, error) {
	log = logOrDiscard(log)
	kept, err := ListKept(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("list kept snapshots: %w", err)
	}
	var removed []string
	var errs []error
	for _, k := range kept {
		if drop != nil && !drop(k) {
			continue
		}
		if err := removeLV(ctx, log, k.VG, k.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "removed kept snapshot "+lvRef(k.VG, k.Name))
	}
	return removed, errors.Join(errs...)
}

// keep turns the thin snapshot s into its origin's kept snapshot: tagged
// lvback-kept, inactive, skipped at activation, read-only, and renamed
// "<lv>-lvback-kept-<time>". Each step is safe to die after: until the
// rename, Cleanup takes it for a leftover (its name) and removes it, and
// the next backup, not finding it kept, reads the whole volume.
func (s *lvSnapshot) keep(ctx context.Context) error {
	ref := lvRef(s.vg, s.name)
	steps := [][]string{
		{"--addtag", keptTag, ref},
		{"-an", ref},
		{"-ky", ref},
		{"-pr", ref},
	}
	for _, args := range steps {
		if err := runChange(ctx, s.log, "lvchange", args...); err != nil {
			return fmt.Errorf("keep snapshot %s: %w", ref, err)
		}
	}
	kept := keptName(s.name)
	if err := runChange(ctx, s.log, "lvrename", s.vg, s.name, kept); err != nil {
		return fmt.Errorf("keep snapshot %s: %w", ref, err)
	}
	s.log.Info("snapshot kept for the next thin_delta", "lv", lvRef(s.vg, kept))
	s.name = kept
	return nil
}
