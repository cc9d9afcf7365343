package lvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/internal/testtree"
)

// TestSnapshotLVClassic takes a classic snapshot of an ext4 and an XFS
// volume and follows it through mount, read, Check and Release.
func TestSnapshotLVClassic(t *testing.T) {
	cases := []struct {
		name    string
		mkfs    []string
		imgSize int64
		size    string
		sizeArg string // in lvcreate's argv
		fstype  string
		super   []string // options the file system must show in mountinfo
	}{
		{"ext4", fakelvmtest.Ext4, 64 << 20, "2G", "-L 2G", "ext4", []string{"ro", "norecovery"}},
		{"xfs", fakelvmtest.XFS, 320 << 20, "20%ORIGIN", "-l 20%ORIGIN", "xfs", []string{"ro", "nouuid", "norecovery"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newFakeVG(t)
			ref := v.AddOrigin("data", c.mkfs, c.imgSize, sampleTree())
			ctx := context.Background()
			snap, err := SnapshotLV(ctx, "/dev/vg/data", Options{Size: c.size, RunDir: v.runDir, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Release(ctx)

			mnt := filepath.Join(v.runDir, "vg-"+snapName)
			if snap.MountPoint() != mnt {
				t.Errorf("MountPoint() = %q, want %q", snap.MountPoint(), mnt)
			}
			assertReadOnlyMount(t, mnt, c.fstype, c.super)
			if d := testtree.RsyncDiff(t, ref, mnt); d != "" {
				t.Errorf("snapshot differs from the origin:\n%s", d)
			}
			fill, err := snap.Check(ctx)
			if err != nil || fill != (Fill{Percent: 0, Kind: "classic"}) || fill.Warn() {
				t.Errorf("Check() = %+v, %v; want 0%% classic, no error", fill, err)
			}
			if v.LV(snapName) == nil || !slices.Equal(v.LV(snapName).Tags, []string{"lvback"}) {
				t.Errorf("snapshot volume: %+v, want one tagged lvback", v.LV(snapName))
			}

			if err := snap.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(mnt); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("mount directory left: %v", err)
			}
			v.assertNothingLeft("vg/data")
			ref2 := "vg/" + snapName
			want := []string{
				"lvs --reportformat json -o vg_name,lv_name,lv_attr,segtype,pool_lv,lv_path /dev/vg/data",
				"lvcreate -s " + c.sizeArg + " -n " + snapName + " --addtag lvback vg/data",
				"lvs --reportformat json -o lv_name,lv_path " + ref2,
				"lvs --reportformat json -o lv_name,lv_attr,snap_percent,data_percent " + ref2,
				"lvremove -f " + ref2,
			}
			if got := v.Calls(); !slices.Equal(got, want) {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// assertReadOnlyMount checks the mount at dir in /proc/self/mountinfo and
// that writing to it fails with EROFS.
func assertReadOnlyMount(t *testing.T, dir, fstype string, super []string) {
	t.Helper()
	m := mountAt(t, dir)
	if m == nil {
		t.Fatalf("nothing mounted at %s", dir)
	}
	if m.FSType != fstype {
		t.Errorf("file system %q, want %q", m.FSType, fstype)
	}
	for _, o := range []string{"ro", "nosuid", "nodev", "noexec"} {
		if !hasOption(m.Options, o) {
			t.Errorf("mount options %q lack %s", m.Options, o)
		}
	}
	for _, o := range super {
		if !hasOption(m.Super, o) {
			t.Errorf("%s options %q lack %s", fstype, m.Super, o)
		}
	}
	err := os.WriteFile(filepath.Join(dir, "new"), []byte("x"), 0o600)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing to the snapshot: %v, want EROFS", err)
	}
}

// TestSnapshotLVThin snapshots a thin volume: no size, explicit activation,
// fill from the pool.
func TestSnapshotLVThin(t *testing.T) {
	v := newFakeVG(t)
	v.Add(state.LV{VG: "vg", Name: "pool", Attr: "twi-aotz--", Segtype: "thin-pool", Percent: "40.00"})
	ref := v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	v.Edit(func(s *state.State) {
		lv := s.Find("vg", "data")
		lv.Attr, lv.Segtype, lv.Pool, lv.Percent = "Vwi-a-tz--", "thin", "pool", "95.00"
	})
	ctx := context.Background()
	snap, err := SnapshotLV(ctx, "/dev/mapper/vg-data", Options{Size: "2G", RunDir: v.runDir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release(ctx)
	assertReadOnlyMount(t, snap.MountPoint(), "ext4", []string{"norecovery"})
	if d := testtree.RsyncDiff(t, ref, snap.MountPoint()); d != "" {
		t.Errorf("snapshot differs from the origin:\n%s", d)
	}
	want := []string{
		"lvcreate -s -n " + snapName + " --addtag lvback vg/data",
		"lvchange -ay -K vg/" + snapName,
	}
	if got := v.Calls("lvcreate", "lvchange"); !slices.Equal(got, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The snapshot's own data_percent (95, inherited) is no overflow; the
	// pool's fill counts.
	for _, c := range []struct {
		percent  string
		want     float64
		overflow bool
	}{{"", 40, false}, {"85.00", 85, false}, {"100.00", 100, true}} {
		v.Fault(state.Percent, c.percent)
		fill, err := snap.Check(ctx)
		if fill.Percent != c.want || fill.Kind != "thin" || errors.Is(err, ErrOverflow) != c.overflow ||
			(err != nil && !c.overflow) || fill.Warn() != (c.want >= 80) {
			t.Errorf("pool at %q: Check() = %+v, %v", c.percent, fill, err)
		}
	}
	if err := snap.Release(ctx); err != nil {
		t.Fatal(err)
	}
	v.assertNothingLeft("vg/pool", "vg/data")
}

// TestSnapshotLVRefuses checks that bad arguments stop before lvcreate.
func TestSnapshotLVRefuses(t *testing.T) {
	v := newFakeVG(t)
	v.Add(state.LV{VG: "vg", Name: "data", Attr: "-wi-a-----", Segtype: "linear"})
	cases := []struct{ lv, size, want string }{
		{"", "2G", "invalid logical volume"},
		{"-rf", "2G", "invalid logical volume"},
		{"/dev/vg/missing", "2G", `Failed to find logical volume "/dev/vg/missing"`},
		{"/dev/vg/data", "2", "invalid snapshot size"},
		{"/dev/vg/data", "20%", "invalid snapshot size"},
		{"/dev/vg/data", "-L", "invalid snapshot size"},
		{"/dev/vg/data", "1G --yes", "invalid snapshot size"},
	}
	for _, c := range cases {
		_, err := SnapshotLV(context.Background(), c.lv, Options{Size: c.size, RunDir: v.runDir, Now: now})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SnapshotLV(%q, size %q) = %v, want an error containing %q", c.lv, c.size, err, c.want)
		}
	}
	if got := v.Calls("lvcreate", "lvchange", "lvremove"); len(got) > 0 {
		t.Errorf("changing calls made: %q", got)
	}
}

// TestSnapshotLVCancelled checks that a cancelled context stops
// SnapshotLV before it changes anything.
func TestSnapshotLVCancelled(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SnapshotLV(ctx, "/dev/vg/data", Options{RunDir: v.runDir, Now: now}); !errors.Is(err, context.Canceled) {
		t.Errorf("SnapshotLV with a cancelled context: %v, want context.Canceled", err)
	}
	v.assertNothingLeft("vg/data")
	if got := v.Calls("lvcreate"); len(got) > 0 {
		t.Errorf("lvcreate ran: %q", got)
	}
}
