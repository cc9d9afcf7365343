package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// Every shared option of a volume reaches its block-mode backup, and Jobs
// becomes blockdiff's worker count (it was once dropped, so --jobs did
// nothing in block mode).
func TestVolumeOptionsReachBlockMode(t *testing.T) {
	shared := BackupOptions{Repo: "/r", Name: "vm", Source: "/dev/snap", Label: "/dev/vg/vm", Jobs: 3,
		Locked: true, BeforeCommit: func() error { return nil }, Now: day(20), Log: discardLog(), Progress: &Progress{}}
	vo := VolumeOptions{Backup: shared, Blocks: true, LV: "/dev/vg/vm", RequireSnapshot: true}
	bo := vo.blockOptions()
	got := bo.BackupOptions
	if got.Repo != shared.Repo || got.Name != shared.Name || got.Source != shared.Source || got.Label != shared.Label ||
		got.Jobs != shared.Jobs || got.Locked != shared.Locked || got.BeforeCommit == nil || got.Now == nil ||
		got.Log != shared.Log || got.Progress != shared.Progress {
		t.Errorf("block options %+v, want the volume's %+v", got, shared)
	}
	if !bo.Snapshot || !bo.RequireSnapshot {
		t.Errorf("Snapshot %v RequireSnapshot %v, want both (an LV's snapshot, require set)", bo.Snapshot, bo.RequireSnapshot)
	}
	if vo.Path = "/img"; vo.blockOptions().Snapshot {
		t.Error("a path volume is read as lvback's own snapshot")
	}
	for _, jobs := range []int{0, 1, 3, 17} {
		vo.Backup.Jobs = jobs
		bo := vo.blockOptions()
		if w := bo.diffOptions(2<<20, nil, nil).Workers; w != jobs {
			t.Errorf("jobs %d: blockdiff gets %d workers", jobs, w)
		}
	}
}

// A real block-mode backup hands Jobs to blockdiff: a worker count it
// refuses comes back as its error, and one it takes makes a backup.
func TestBlockModeJobsReachBlockdiff(t *testing.T) {
	dir := t.TempDir()
	img, repoPath := filepath.Join(dir, "disk.img"), newRepo(t, filepath.Join(dir, "repo"))
	makeImage(t, img)
	vo := VolumeOptions{Backup: BackupOptions{Repo: repoPath, Name: "vm", Jobs: -1}, Blocks: true, Path: img}
	if _, err := BackupVolume(context.Background(), vo); err == nil || !strings.Contains(err.Error(), "workers -1") {
		t.Fatalf("jobs -1: err %v, want blockdiff's refusal of -1 workers", err)
	}
	vo.Backup.Jobs = 1
	if _, err := BackupVolume(context.Background(), vo); err != nil {
		t.Fatalf("jobs 1: %v", err)
	}
}
