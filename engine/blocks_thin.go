package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
)

// ThinSource is what a block backup of a thin LV's snapshot needs to
// read only what changed: the snapshot's identity, and where lvm keeps
// its locks.
type ThinSource struct {
	Snapshot lvm.ThinVolume
	RunDir   string // lvm.Options.RunDir
	// FullReadEvery, when positive, makes a backup read the whole volume
	// when the newest full read is older than this.
	FullReadEvery time.Duration
}

// thinPlan is what thinChanges decided: which chunks to read, and what
// info.json records of it.
type thinPlan struct {
	unchanged func(chunk int) bool // nil: read everything
	reason    string               // why everything is read
	changed   int64                // bytes of the chunks thin_delta named
	kept      int64                // bytes thin_delta found differ from the kept snapshot
}

// thinChanges decides, under the repository lock, whether this backup of
// the thin snapshot o.Thin may read only what thin_delta says changed
// since prev (the volume's newest complete backup, whose index is
// prevIdx): only when prev read the snapshot that is kept now, of the
// same size, in chunks of the size this backup uses, and thin_delta
// answers. Anything else is a full read, and its reason is logged and
// recorded.
func (o *BlockOptions) thinChanges(ctx context.Context, prev *repo.Backup, prevIdx *blockdiff.Index, chunkSize int) thinPlan {
	cur := o.Thin.Snapshot
	switch {
	case o.FullRead:
		return thinPlan{reason: "--full-read"}
	case prev == nil:
		return thinPlan{reason: "no previous backup"}
	case prev.Info.Thin == nil:
		return thinPlan{reason: fmt.Sprintf("previous backup %s did not read a thin snapshot", prev.ID)}
	case prevIdx == nil:
		return thinPlan{reason: fmt.Sprintf("previous backup %s: index unreadable", prev.ID)}
	case prevIdx.Size != cur.Size:
		return thinPlan{reason: fmt.Sprintf("volume size changed from %d to %d bytes", prevIdx.Size, cur.Size)}
	case prevIdx.ChunkSize != chunkSize:
		return thinPlan{reason: fmt.Sprintf("chunk size changed from %d to %d", prevIdx.ChunkSize, chunkSize)}
	}
	if every := o.Thin.FullReadEvery; every > 0 {
		last := prev.Info.LastFullRead
		if last == nil || o.Now().Sub(*last) >= every {
			return thinPlan{reason: fmt.Sprintf("full_read_every %s: no full read since %s", every, lastFullRead(last))}
		}
	}
	kept, pool, err := lvm.Kept(ctx, o.Log, cur.VG, cur.Origin)
	if err != nil {
		return thinPlan{reason: "cannot list kept snapshots: " + err.Error()}
	}
	var old *lvm.ThinVolume
	for i := range kept {
		if kept[i].Same(*prev.Info.Thin) {
			old = &kept[i]
		}
	}
	switch {
	case len(kept) == 0:
		return thinPlan{reason: "no kept snapshot"}
	case old == nil:
		return thinPlan{reason: fmt.Sprintf("no kept snapshot is the one backup %s read (thin id %d)", prev.ID, prev.Info.Thin.ThinID)}
	case old.Size != cur.Size:
		return thinPlan{reason: fmt.Sprintf("kept snapshot is %d bytes, the volume %d", old.Size, cur.Size)}
	}
	d, err := lvm.ThinDelta(ctx, o.Log, o.Thin.RunDir, *old, cur)
	if err != nil {
		return thinPlan{reason: err.Error()}
	}
	changed := changedChunks(d.Ranges, chunkSize, cur.Size)
	plan := thinPlan{unchanged: func(i int) bool { return !changed[i] }, kept: d.Bytes()}
	for i, c := range changed {
		if c {
			_, n := prevIdx.Extent(i)
			plan.changed += int64(n)
		}
	}
	if pool.Size > 0 && float64(plan.kept) >= keptWarnShare*float64(pool.Size) {
		o.Log.Warn(fmt.Sprintf("the kept snapshot held %s of thin pool %s/%s (%.0f%%) until this backup; more than %.0f%% a night means the pool needs room for it",
			units.Bytes(plan.kept), pool.VG, pool.Name, 100*float64(plan.kept)/float64(pool.Size), 100*keptWarnShare), "volume", o.Name)
	}
	return plan
}

// keptWarnShare is the share of its thin pool a kept snapshot may hold
// alone before a backup warns: changes of a fifth of the pool between
// two backups leave little room for the next night's.
const keptWarnShare = 0.2

// lastFullRead shows when the newest full read was, or "ever".
func lastFullRead(t *time.Time) string {
	if t == nil {
		return "ever"
	}
	return t.UTC().Format(time.RFC3339)
}

// changedChunks marks every chunk of chunkSize of a volume of size bytes
// that a range touches.
func changedChunks(ranges []lvm.Range, chunkSize int, size int64) []bool {
	n := (size + int64(chunkSize) - 1) / int64(chunkSize)
	changed := make([]bool, n)
	for _, r := range ranges {
		if r.Len <= 0 {
			continue
		}
		first, last := r.Off/int64(chunkSize), (r.Off+r.Len-1)/int64(chunkSize)
		for i := first; i <= last && i < n; i++ {
			changed[i] = true
		}
	}
	return changed
}

// recordThin fills in what info.json says of a thin snapshot's read.
func (o *BlockOptions) recordThin(info *repo.Info, plan thinPlan, prev *repo.Backup, started time.Time) {
	if o.Thin == nil {
		return
	}
	t := o.Thin.Snapshot
	info.Thin = &t
	if plan.unchanged == nil {
		info.ReadMode, info.FullReadReason = repo.ReadFull, plan.reason
		at := started.UTC()
		info.LastFullRead = &at
		return
	}
	info.ReadMode, info.ChangedBytes, info.KeptSnapshotBytes = repo.ReadThinDelta, plan.changed, plan.kept
	info.LastFullRead = prev.Info.LastFullRead
}
