package lvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/internal/testsys"
)

// TestCleanupRemovesOnlyLvbacks leaves a snapshot behind as a killed run
// would, among look-alikes that are not lvback's, and checks that Cleanup
// removes exactly lvback's.
func TestCleanupRemovesOnlyLvbacks(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	ctx := context.Background()
	snap, err := SnapshotLV(ctx, "/dev/vg/data", Options{RunDir: v.runDir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	abandon(t, snap)
	mnt := snap.MountPoint()

	const oldSnap = "data-lvback-20200102T000000"  // unmounted leftover
	const halfKept = "data-lvback-20200104T000000" // tagged for keeping, killed before the rename
	const kept = "data-lvback-kept-20200105T000000"
	for _, lv := range []state.LV{
		{VG: "vg", Name: halfKept, Tags: []string{"lvback", "lvback-kept"}, Attr: "Vri---tz-k", Segtype: "linear", Origin: "data"},
		{VG: "vg", Name: kept, Tags: []string{"lvback", "lvback-kept"}, Attr: "Vri---tz-k", Segtype: "linear", Origin: "data"},
		{VG: "vg", Name: "other", Tags: []string{"lvback"}, Attr: "-wi-a-----", Segtype: "linear"},
		{VG: "vg", Name: "data-lvback-20200101T000000", Tags: []string{"backup"}, Attr: "swi-a-s---", Segtype: "linear", Origin: "data"},
		{VG: "vg2", Name: "db-lvback-2020", Tags: []string{"lvback"}, Attr: "-wi-a-----", Segtype: "linear"},
		{VG: "vg", Name: oldSnap, Tags: []string{"nightly", "lvback"}, Attr: "swi-a-s---", Segtype: "linear", Origin: "data"},
	} {
		v.Add(lv)
	}
	foreign := filepath.Join(v.Base, "foreign")
	emptyLeftover := filepath.Join(v.runDir, "vg-"+oldSnap)
	keep := filepath.Join(v.runDir, "keep")
	keepNamed := filepath.Join(v.runDir, "vg-data-lvback-20200103T000000")
	for _, d := range []string{foreign, emptyLeftover, keep, keepNamed} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(keepNamed, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	testsys.Run(t, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", foreign)

	removed, err := Cleanup(ctx, v.runDir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"unmounted " + mnt,
		"removed directory " + mnt,
		"removed directory " + emptyLeftover,
		"removed logical volume vg/" + snapName,
		"removed logical volume vg/" + halfKept,
		"removed logical volume vg/" + oldSnap,
	}
	if !slices.Equal(removed, want) {
		t.Errorf("Cleanup removed\n%q\nwant\n%q", removed, want)
	}
	wantCalls := []string{"lvremove -f vg/" + snapName, "lvremove -f vg/" + halfKept, "lvremove -f vg/" + oldSnap}
	if got := v.Calls("lvremove"); !slices.Equal(got, wantCalls) {
		t.Errorf("lvremove calls %q, want %q", got, wantCalls)
	}
	if got, want := v.Names(), []string{"vg/data", "vg/" + kept, "vg/other", "vg/data-lvback-20200101T000000", "vg2/db-lvback-2020"}; !slices.Equal(got, want) {
		t.Errorf("volumes left %q, want %q", got, want)
	}
	if mountAt(t, foreign) == nil {
		t.Error("Cleanup unmounted a foreign mount")
	}
	for _, d := range []string{keep, keepNamed} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("Cleanup removed a directory it did not make: %v", err)
		}
	}

	// Nothing is left to do a second time.
	if removed, err := Cleanup(ctx, v.runDir, nil, nil); err != nil || len(removed) > 0 {
		t.Errorf("second Cleanup: %q, %v", removed, err)
	}
}

// TestCleanupRefusesWhileInUse checks that Cleanup leaves alone the
// snapshot of a live run (here, this process).
func TestCleanupRefusesWhileInUse(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	ctx := context.Background()
	snap, err := SnapshotLV(ctx, "/dev/vg/data", Options{RunDir: v.runDir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release(ctx)
	removed, err := Cleanup(ctx, v.runDir, nil, nil)
	if !errors.Is(err, errBusy) || len(removed) > 0 {
		t.Errorf("Cleanup during a run: %q, %v; want errBusy", removed, err)
	}
	if mountAt(t, snap.MountPoint()) == nil || v.LV(snapName) == nil || len(v.Calls("lvremove")) > 0 {
		t.Error("Cleanup touched the live snapshot")
	}
	if err := snap.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if removed, err := Cleanup(ctx, v.runDir, nil, nil); err != nil || len(removed) > 0 {
		t.Errorf("Cleanup after Release: %q, %v", removed, err)
	}
}

// TestCleanupWithoutLVM checks that Cleanup on a host without lvs (btrfs
// only) does not fail for want of it.
func TestCleanupWithoutLVM(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	removed, err := Cleanup(context.Background(), filepath.Join(t.TempDir(), "run"), nil, nil)
	if err != nil || len(removed) > 0 {
		t.Errorf("Cleanup = %q, %v", removed, err)
	}
}
