package lvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
)

// hookRecorder records BeforeCreate and AfterCreate calls together with
// what the fake LVM had done by then.
type hookRecorder struct {
	v         *fakeVG
	events    []string
	beforeErr error // BeforeCreate's result
	afterErr  error // AfterCreate's result
}

func (r *hookRecorder) options() Options {
	return Options{Size: "2G", RunDir: r.v.runDir, Now: now,
		BeforeCreate: func(ctx context.Context) error {
			r.events = append(r.events, fmt.Sprintf("before (lvcreate calls %d)", len(r.v.Calls("lvcreate"))))
			return r.beforeErr
		},
		AfterCreate: func(ctx context.Context, made bool) error {
			mounted := mountAt(r.v.t, filepath.Join(r.v.runDir, "vg-"+snapName)) != nil
			r.events = append(r.events, fmt.Sprintf("after made=%v (lvcreate calls %d, mounted %v, ctx %v)",
				made, len(r.v.Calls("lvcreate")), mounted, ctx.Err()))
			return r.afterErr
		},
	}
}

// The hooks run right around lvcreate: before it, and after it but before
// the mount; after_snapshot learns whether the snapshot was made.
func TestHooksAroundLvcreate(t *testing.T) {
	errBefore, errAfter := errors.New("before failed"), errors.New("after failed")
	tests := []struct {
		name          string
		fault         string
		before, after error
		want          []string
		wantErr       error
		lvcreates     int
	}{
		{"success", "", nil, nil, []string{"before (lvcreate calls 0)", "after made=true (lvcreate calls 1, mounted false, ctx <nil>)"}, nil, 1},
		{"lvcreate fails", state.FailLvcreate, nil, nil, []string{"before (lvcreate calls 0)", "after made=false (lvcreate calls 1, mounted false, ctx <nil>)"}, ErrCreate, 1},
		// before_snapshot may have half-quiesced the application: after
		// runs to undo that, and no snapshot is made.
		{"before fails", "", errBefore, nil, []string{"before (lvcreate calls 0)", "after made=false (lvcreate calls 0, mounted false, ctx <nil>)"}, errBefore, 0},
		{"after fails", "", nil, errAfter, []string{"before (lvcreate calls 0)", "after made=true (lvcreate calls 1, mounted false, ctx <nil>)"}, errAfter, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVG(t)
			v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
			if tt.fault != "" {
				v.Fault(tt.fault, "1")
			}
			r := &hookRecorder{v: v, beforeErr: tt.before, afterErr: tt.after}
			snap, err := SnapshotLV(t.Context(), "/dev/vg/data", r.options())
			if !slices.Equal(r.events, tt.want) {
				t.Errorf("hooks:\n%s\nwant:\n%s", strings.Join(r.events, "\n"), strings.Join(tt.want, "\n"))
			}
			if got := len(v.Calls("lvcreate")); got != tt.lvcreates {
				t.Errorf("%d lvcreate calls, want %d", got, tt.lvcreates)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if err := snap.Release(t.Context()); err != nil {
					t.Fatal(err)
				}
			} else if snap != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("SnapshotLV = %v, %v; want an error wrapping %v", snap, err, tt.wantErr)
			}
			v.assertNothingLeft("vg/data")
		})
	}
}

// after_snapshot runs with a context that is not cancelled, also when the
// run was interrupted during before_snapshot.
func TestAfterCreateRunsWhenInterrupted(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	ctx, cancel := context.WithCancel(t.Context())
	r := &hookRecorder{v: v}
	o := r.options()
	before := o.BeforeCreate
	o.BeforeCreate = func(ctx context.Context) error {
		before(ctx)
		cancel() // SIGTERM while the application is being quiesced
		return ctx.Err()
	}
	if _, err := SnapshotLV(ctx, "/dev/vg/data", o); !errors.Is(err, context.Canceled) {
		t.Fatalf("SnapshotLV: %v, want context.Canceled", err)
	}
	want := []string{"before (lvcreate calls 0)", "after made=false (lvcreate calls 0, mounted false, ctx <nil>)"}
	if !slices.Equal(r.events, want) {
		t.Errorf("hooks: %q, want %q", r.events, want)
	}
	v.assertNothingLeft("vg/data")
}

// An origin whose file system is frozen makes lvcreate fail while it
// suspends the origin; SnapshotLV says so and removes what lvcreate left:
// the half-made volume and the origin's -real device.
func TestFrozenOrigin(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	v.Fault(state.FrozenOrigin, "1")
	r := &hookRecorder{v: v}
	snap, err := SnapshotLV(t.Context(), "/dev/vg/data", r.options())
	if snap != nil || !errors.Is(err, ErrFrozen) || !errors.Is(err, ErrCreate) {
		t.Fatalf("SnapshotLV = %v, %v; want an error wrapping ErrFrozen and ErrCreate", snap, err)
	}
	for _, want := range []string{"file system is frozen", "fsfreeze -u", "lvback needs no fsfreeze", "Device or resource busy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	v.assertNothingLeft("vg/data")
	if got, want := v.Calls("lvremove", "dmsetup"), []string{
		"lvremove -f vg/" + snapName,
		"dmsetup info -c --noheadings -o open vg-data-real",
		"dmsetup remove vg-data-real",
	}; !slices.Equal(got, want) {
		t.Errorf("undo calls %q, want %q", got, want)
	}
	if r.events[len(r.events)-1] != "after made=false (lvcreate calls 1, mounted false, ctx <nil>)" {
		t.Errorf("hooks: %q", r.events)
	}
}

func TestDMName(t *testing.T) {
	for _, tt := range []struct{ vg, lv, want string }{
		{"vg", "data", "vg-data"},
		{"my-vg", "root-fs", "my--vg-root--fs"},
	} {
		if got := dmName(tt.vg, tt.lv); got != tt.want {
			t.Errorf("dmName(%q, %q) = %q, want %q", tt.vg, tt.lv, got, tt.want)
		}
	}
}

// The hooks run right around btrfs subvolume snapshot.
func TestHooksAroundBtrfsSnapshot(t *testing.T) {
	subvol, _ := newSubvolume(t)
	var events []string
	snapDir := filepath.Join(subvol, BtrfsSnapshotDir, "20261125T031500")
	exists := func() bool { _, err := os.Lstat(snapDir); return err == nil }
	o := Options{RunDir: t.TempDir(), Now: now,
		BeforeCreate: func(context.Context) error {
			events = append(events, fmt.Sprintf("before exists=%v", exists()))
			return nil
		},
		AfterCreate: func(_ context.Context, made bool) error {
			events = append(events, fmt.Sprintf("after made=%v exists=%v", made, exists()))
			return nil
		},
	}
	snap, err := SnapshotBtrfs(t.Context(), subvol, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"before exists=false", "after made=true exists=true"}; !slices.Equal(events, want) {
		t.Errorf("hooks %q, want %q", events, want)
	}
}
