package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
)

// thinChanges reads everything, and says why, whenever the previous
// backup cannot be the base of a thin_delta read; full_read_every counts
// from the newest full read.
func TestThinChangesFullReadReasons(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	snap := lvm.ThinVolume{VG: "vg", Pool: "pool", Origin: "thin", UUID: "u2", ThinID: 2, Size: 8 << 20}
	old := snap
	old.UUID, old.ThinID = "u1", 1
	idx := &blockdiff.Index{Size: 8 << 20, ChunkSize: 2 << 20}
	recent, long := now.Add(-time.Hour), now.Add(-31*24*time.Hour)
	prev := func(thin *lvm.ThinVolume, last *time.Time) *repo.Backup {
		return &repo.Backup{ID: "P", Info: &repo.Info{Thin: thin, LastFullRead: last}}
	}
	for _, c := range []struct {
		name      string
		fullRead  bool
		prev      *repo.Backup
		idx       *blockdiff.Index
		chunkSize int
		every     time.Duration
		want      string
	}{
		{"--full-read", true, prev(&old, &recent), idx, 2 << 20, 0, "--full-read"},
		{"first", false, nil, nil, 2 << 20, 0, "no previous backup"},
		{"not thin", false, prev(nil, nil), idx, 2 << 20, 0, "did not read a thin snapshot"},
		{"no index", false, prev(&old, &recent), nil, 2 << 20, 0, "index unreadable"},
		{"resized", false, prev(&old, &recent), &blockdiff.Index{Size: 4 << 20, ChunkSize: 2 << 20}, 2 << 20, 0, "volume size changed from 4194304 to 8388608"},
		{"chunk size", false, prev(&old, &recent), idx, 4 << 20, 0, "chunk size changed"},
		{"due", false, prev(&old, &long), idx, 2 << 20, 30 * 24 * time.Hour, "full_read_every 720h0m0s: no full read since 2026-10-27"},
		{"never", false, prev(&old, nil), idx, 2 << 20, 30 * 24 * time.Hour, "no full read since ever"},
		// Not due: it goes on to ask LVM, which this test machine's PATH may
		// lack or which knows no such volume group.
		{"not due", false, prev(&old, &recent), idx, 2 << 20, 30 * 24 * time.Hour, "kept snapshot"},
	} {
		o := &BlockOptions{FullRead: c.fullRead, Thin: &ThinSource{Snapshot: snap, FullReadEvery: c.every}}
		o.BackupOptions = BackupOptions{Now: func() time.Time { return now }}.withDefaults()
		plan := o.thinChanges(context.Background(), c.prev, c.idx, c.chunkSize)
		if plan.unchanged != nil || !strings.Contains(plan.reason, c.want) {
			t.Errorf("%s: plan %+v, want a full read because %q", c.name, plan, c.want)
		}
	}
}

func TestChangedChunks(t *testing.T) {
	const cs = 1 << 20
	got := changedChunks([]lvm.Range{{Off: 0, Len: 1}, {Off: 3*cs - 1, Len: 2}, {Off: 5 * cs, Len: cs}, {Off: 9*cs + 10, Len: 100}}, cs, 9*cs+100)
	want := []bool{true, false, true, true, false, true, false, false, false, true}
	if !slices.Equal(got, want) {
		t.Errorf("changedChunks = %v, want %v", got, want)
	}
}
