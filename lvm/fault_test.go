package lvm

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
)

// TestCreateFails checks that a failed lvcreate (volume group full, exit
// status 5) is reported as ErrCreate with LVM's message and leaves nothing.
func TestCreateFails(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	v.Fault(state.FailLvcreate, "1")
	snap, err := SnapshotLV(context.Background(), "/dev/vg/data", Options{Size: "2G", RunDir: v.runDir, Now: now})
	if snap != nil || !errors.Is(err, ErrCreate) {
		t.Fatalf("SnapshotLV = %v, %v; want an error wrapping ErrCreate", snap, err)
	}
	want := "lvcreate -s -L 2G -n " + snapName + ` --addtag lvback vg/data: exit status 5: Volume group "vg" has insufficient free space`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nlacks %q", err, want)
	}
	v.assertNothingLeft("vg/data")
	if got := v.Calls("lvremove"); len(got) > 0 {
		t.Errorf("lvremove ran after a failed lvcreate: %q", got)
	}
}

// TestMountFails checks that the snapshot volume is removed again when it
// cannot be mounted.
func TestMountFails(t *testing.T) {
	cases := []struct {
		name string
		fill func(v *fakeVG) // adds the origin vg/data
		want string
	}{
		{"no file system", func(v *fakeVG) {
			img := v.Image("data", 8<<20)
			garbage := make([]byte, 1<<20)
			rand.Read(garbage)
			if err := os.WriteFile(img, garbage, 0o600); err != nil {
				t.Fatal(err)
			}
			v.AddImage("data", img)
		}, "no file system found on /dev/loop"},
		{"corrupt ext4", func(v *fakeVG) {
			// Zeroed group descriptors: blkid still finds ext4 (1 KiB
			// blocks, so they start at 2 KiB), mount refuses it.
			v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
			f, err := os.OpenFile(v.LV("data").Image, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(make([]byte, 8<<10), 2<<10); err != nil {
				t.Fatal(err)
			}
		}, "mount -t ext4 -o ro,nosuid,nodev,noexec,noload /dev/loop"},
		{"btrfs", func(v *fakeVG) {
			v.AddOrigin("data", fakelvmtest.Btrfs, 256<<20, sampleTree())
		}, "SnapshotBtrfs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newFakeVG(t)
			c.fill(v)
			snap, err := SnapshotLV(context.Background(), "vg/data", Options{RunDir: v.runDir, Now: now})
			if snap != nil || err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("SnapshotLV = %v, %v; want an error containing %q", snap, err, c.want)
			}
			if errors.Is(err, ErrCreate) {
				t.Errorf("a mount failure wraps ErrCreate: %v", err)
			}
			v.assertNothingLeft("vg/data")
			if got, want := v.Calls("lvremove"), []string{"lvremove -f vg/" + snapName}; !slices.Equal(got, want) {
				t.Errorf("lvremove calls %q, want %q", got, want)
			}
		})
	}
}

// TestCheck checks the fill Check reports and ErrOverflow for a classic
// snapshot.
func TestCheck(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	cases := []struct {
		name, fault, content string
		want                 float64
		warn, overflow       bool
	}{
		{"invalid", state.Overflow, "1", 100, true, true},
		{"full", state.Percent, "100.00", 100, true, true},
		{"85%", state.Percent, "85.00", 85, true, false},
		{"79.99%", state.Percent, "79.99", 79.99, false, false},
		{"0%", state.Percent, "", 0, false, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			v.Fault(c.fault, c.content)
			defer v.Fault(c.fault, "")
			at := func() time.Time { return now().Add(time.Duration(i) * time.Second) }
			snap, err := SnapshotLV(ctx, "/dev/vg/data", Options{RunDir: v.runDir, Now: at})
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Release(ctx)
			fill, err := snap.Check(ctx)
			if fill.Percent != c.want || fill.Kind != "classic" || fill.Warn() != c.warn {
				t.Errorf("Check() = %+v (warn %v), want %v%% classic (warn %v)", fill, fill.Warn(), c.want, c.warn)
			}
			if errors.Is(err, ErrOverflow) != c.overflow || (err != nil && !c.overflow) {
				t.Errorf("Check() error %v, want overflow %v", err, c.overflow)
			}
			if err := snap.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	v.assertNothingLeft("vg/data")
}

// TestReleaseRetriesLvremove checks that Release retries an lvremove that
// failed once.
func TestReleaseRetriesLvremove(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	ctx := context.Background()
	snap, err := SnapshotLV(ctx, "/dev/vg/data", Options{RunDir: v.runDir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	v.Fault(state.FailLvremoveOnce, "1")
	if err := snap.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	want := []string{
		"lvcreate -s -l 10%ORIGIN -n " + snapName + " --addtag lvback vg/data", // the default size
		"lvremove -f vg/" + snapName,
		"lvremove -f vg/" + snapName,
	}
	if got := v.Calls("lvcreate", "lvremove"); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	v.assertNothingLeft("vg/data")
}

// TestReleaseCancelledAndTwice checks that Release cleans up with an
// already cancelled context and that a second Release does nothing.
func TestReleaseCancelledAndTwice(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	ctx, cancel := context.WithCancel(context.Background())
	snap, err := SnapshotLV(ctx, "/dev/vg/data", Options{RunDir: v.runDir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := snap.Release(ctx); err != nil {
		t.Fatalf("Release with a cancelled context: %v", err)
	}
	v.assertNothingLeft("vg/data")
	if err := snap.Release(ctx); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if got := v.Calls("lvremove", "lvcreate"); len(got) != 2 {
		t.Errorf("calls %q, want one lvcreate and one lvremove", got)
	}
	if _, err := snap.Check(context.Background()); err == nil {
		t.Error("Check after Release did not fail")
	}
}

// TestReleaseBusy checks that a Release that cannot unmount (a file is
// open on the snapshot) fails, keeps the volume, and succeeds when called
// again after the file is closed.
func TestReleaseBusy(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	ctx := context.Background()
	snap, err := SnapshotLV(ctx, "/dev/vg/data", Options{RunDir: v.runDir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release(ctx)
	f, err := os.Open(snap.MountPoint() + "/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Release(ctx); err == nil || !strings.Contains(err.Error(), "umount") {
		t.Errorf("Release with an open file: %v, want a umount error", err)
	}
	if v.LV(snapName) == nil || mountAt(t, snap.MountPoint()) == nil {
		t.Error("a failed unmount still removed the snapshot")
	}
	// The fake, like LVM, refuses to remove a mounted volume.
	cmd := exec.Command("lvremove", "-f", "vg/"+snapName)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "in use") {
		t.Errorf("fake lvremove of a mounted volume: %v: %s", err, out)
	}
	f.Close()
	if err := snap.Release(ctx); err != nil {
		t.Fatalf("Release after closing: %v", err)
	}
	v.assertNothingLeft("vg/data")
}
