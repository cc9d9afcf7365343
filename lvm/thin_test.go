package lvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// A thin snapshot is identified, kept (tagged, inactive, skipped at
// activation, read-only, renamed), left by Cleanup, compared with the
// next one by ThinDelta (also when a dead process left the pool's
// metadata snapshot reserved), replaced by the next kept one, and
// removed by CleanupKept.
func TestKeepAndThinDelta(t *testing.T) {
	v := newFakeVG(t)
	img := filepath.Join(t.TempDir(), "thin.img")
	if err := os.WriteFile(img, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	v.AddThinPool("pool", 128)
	v.AddThin("thin", "pool", img)
	ctx := context.Background()
	at := now()
	snapshot := func() ThinSnapshot {
		t.Helper()
		s, err := SnapshotLV(ctx, "vg/thin", Options{RunDir: v.runDir, NoMount: true, Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		ts, ok := s.(ThinSnapshot)
		if !ok {
			t.Fatalf("SnapshotLV of a thin LV returned a %T", s)
		}
		return ts
	}
	s1 := snapshot()
	t1, ok := s1.Thin()
	if !ok || t1.Origin != "thin" || t1.Pool != "pool" || t1.Size != 4<<20 || t1.UUID == "" || t1.ThinID == 0 {
		t.Fatalf("Thin() = %+v, %v", t1, ok)
	}
	if err := s1.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	kept1 := "thin-lvback-kept-20261125T031500"
	want := []string{"lvchange --addtag lvback-kept vg/thin-lvback-20261125T031500", "lvchange -an vg/thin-lvback-20261125T031500",
		"lvchange -ky vg/thin-lvback-20261125T031500", "lvchange -pr vg/thin-lvback-20261125T031500",
		"lvrename vg thin-lvback-20261125T031500 " + kept1}
	if got := v.Calls("lvchange", "lvrename")[1:]; !slices.Equal(got, want) {
		t.Errorf("keep ran %q, want %q", got, want)
	}
	if _, err := Cleanup(ctx, v.runDir, nil, nil); err != nil {
		t.Fatal(err)
	}
	kept, pool, err := Kept(ctx, nil, "vg", "thin")
	if err != nil || len(kept) != 1 || !kept[0].Same(t1) || kept[0].Name != kept1 || pool.Name != "pool" {
		t.Fatalf("after Cleanup: kept %+v, pool %+v, %v; want %s", kept, pool, err, kept1)
	}

	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("changed"), 3<<20+5)
	f.Close()
	at = at.Add(time.Second)
	s2 := snapshot()
	t2, _ := s2.Thin()
	if t2.Transaction <= t1.Transaction {
		t.Errorf("pool transaction %d after the second snapshot, %d after the first", t2.Transaction, t1.Transaction)
	}
	// A metadata snapshot a dead process left reserved.
	if _, err := run(ctx, logOrDiscard(nil), "dmsetup", "message", "vg-pool-tpool", "0", "reserve_metadata_snap"); err != nil {
		t.Fatal(err)
	}
	d, err := ThinDelta(ctx, nil, v.runDir, kept[0], t2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Range{{3 << 20, 64 << 10}}; !slices.Equal(d.Ranges, want) || d.BlockSize != 64<<10 {
		t.Errorf("ThinDelta: %+v, want ranges %v", d, want)
	}
	if _, err := run(ctx, logOrDiscard(nil), "dmsetup", "message", "vg-pool-tpool", "0", "release_metadata_snap"); err == nil {
		t.Error("ThinDelta left the pool's metadata snapshot reserved")
	}
	other := kept[0]
	other.Pool = "elsewhere"
	if _, err := ThinDelta(ctx, nil, v.runDir, other, t2); !errors.Is(err, ErrNoThinDelta) {
		t.Errorf("ThinDelta across pools: %v", err)
	}
	v.Fault(state.FailThinDeltaOnce, "1")
	if _, err := ThinDelta(ctx, nil, v.runDir, kept[0], t2); !errors.Is(err, ErrNoThinDelta) {
		t.Errorf("ThinDelta with thin_delta failing: %v", err)
	}

	if err := s2.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	s2.Release(ctx)
	if kept, _, _ := Kept(ctx, nil, "vg", "thin"); len(kept) != 1 || !kept[0].Same(t2) {
		t.Errorf("after the second Keep: kept %+v, want only the second", kept)
	}
	removed, err := CleanupKept(ctx, nil, nil)
	if err != nil || len(removed) != 1 {
		t.Errorf("CleanupKept: %q, %v", removed, err)
	}
	v.assertNothingLeft("vg/pool", "vg/thin")
}
