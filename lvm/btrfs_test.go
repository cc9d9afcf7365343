package lvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
)

// newSubvolume loop-mounts a btrfs image and returns a subvolume in it
// holding sampleTree, and an rsync copy of that subvolume.
func newSubvolume(t *testing.T) (subvol, ref string) {
	t.Helper()
	testsys.RequireRoot(t, "btrfs", "rsync")
	mnt := testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, 256<<20)
	subvol = filepath.Join(mnt, "vol")
	testsys.Run(t, "btrfs", "-q", "subvolume", "create", subvol)
	testtree.Create(t, subvol, sampleTree())
	// A snapshot shows the directory holding it, empty; make it first so
	// that the copy has it too.
	if err := os.Mkdir(filepath.Join(subvol, BtrfsSnapshotDir), 0o700); err != nil {
		t.Fatal(err)
	}
	ref = filepath.Join(t.TempDir(), "ref")
	testtree.Copy(t, subvol, ref)
	return subvol, ref
}

// TestSnapshotBtrfs makes a read-only snapshot of a subvolume and releases
// it.
func TestSnapshotBtrfs(t *testing.T) {
	subvol, ref := newSubvolume(t)
	ctx := context.Background()
	snap, err := SnapshotBtrfs(ctx, subvol, Options{RunDir: t.TempDir(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release(ctx)
	want := filepath.Join(subvol, ".lvback-snapshots", "20261125T031500")
	if snap.MountPoint() != want {
		t.Errorf("MountPoint() = %q, want %q", snap.MountPoint(), want)
	}
	if d := testtree.RsyncDiff(t, ref, snap.MountPoint()); d != "" {
		t.Errorf("snapshot differs from the subvolume:\n%s", d)
	}
	err = os.WriteFile(filepath.Join(snap.MountPoint(), "hello.txt"), []byte("changed"), 0o600)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing into the snapshot: %v, want EROFS", err)
	}
	if fill, err := snap.Check(ctx); err != nil || fill != (Fill{Kind: "btrfs"}) {
		t.Errorf("Check() = %+v, %v", fill, err)
	}
	if err := snap.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(subvol, BtrfsSnapshotDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot directory left after Release: %v", err)
	}
	if err := snap.Release(ctx); err != nil {
		t.Errorf("second Release: %v", err)
	}
}

// TestSnapshotBtrfsRefusesPlainDirectory checks that a directory that is
// not a subvolume gets no .lvback-snapshots.
func TestSnapshotBtrfsRefusesPlainDirectory(t *testing.T) {
	subvol, _ := newSubvolume(t)
	dir := filepath.Join(subvol, "sub")
	if _, err := SnapshotBtrfs(context.Background(), dir, Options{RunDir: t.TempDir(), Now: now}); err == nil {
		t.Error("SnapshotBtrfs of a plain directory succeeded")
	}
	if _, err := os.Lstat(filepath.Join(dir, BtrfsSnapshotDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created %s in a plain directory: %v", BtrfsSnapshotDir, err)
	}
}

// TestCleanupBtrfs leaves a btrfs snapshot behind, among look-alikes, and
// checks that Cleanup deletes only it.
func TestCleanupBtrfs(t *testing.T) {
	subvol, _ := newSubvolume(t)
	runDir := t.TempDir()
	ctx := context.Background()
	snap, err := SnapshotBtrfs(ctx, subvol, Options{RunDir: runDir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	abandon(t, snap)
	dir := filepath.Join(subvol, BtrfsSnapshotDir)
	foreignSubvol := filepath.Join(dir, "mine")
	plainDir := filepath.Join(dir, "20200101T000000")
	testsys.Run(t, "btrfs", "-q", "subvolume", "create", foreignSubvol)
	if err := os.Mkdir(plainDir, 0o700); err != nil {
		t.Fatal(err)
	}

	removed, err := Cleanup(ctx, runDir, []string{subvol, filepath.Join(t.TempDir(), "none")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"deleted btrfs snapshot " + snap.MountPoint()}; !slices.Equal(removed, want) {
		t.Errorf("Cleanup removed %q, want %q", removed, want)
	}
	if _, err := os.Lstat(snap.MountPoint()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover snapshot still there: %v", err)
	}
	for _, p := range []string{foreignSubvol, plainDir} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("Cleanup removed what is not lvback's: %v", err)
		}
	}
}
