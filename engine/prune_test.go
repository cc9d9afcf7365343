package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/retention"
)

// backupDays makes one backup a day for n days ending on 2026-11-25,
// changing one file each time, and returns their ids oldest first.
func backupDays(t *testing.T, src, repoPath string, n int) []string {
	var ids []string
	for i := 0; i < n; i++ {
		day := time.Date(2026, 11, 25-n+1+i, 3, 0, 0, 0, time.UTC)
		writeFile(t, filepath.Join(src, "day"), "day "+strconv.Itoa(i))
		res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src, Now: func() time.Time { return day }})
		ids = append(ids, res.Info.ID)
	}
	return ids
}

func completeIDs(t *testing.T, repoPath string) []string {
	var ids []string
	for _, b := range backupsOf(t, repoPath, "vol") {
		if b.Complete {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

func TestPruneKeepsByRuleAndEverythingStillVerifies(t *testing.T) {
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "shared"), "same in every backup")
	ids := backupDays(t, src, repoPath, 5)
	res, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 2}, Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, d := range res.Decisions {
		if d.Removed {
			removed++
		}
	}
	if got := completeIDs(t, repoPath); removed != 3 || len(got) != 2 || got[0] != ids[3] || got[1] != ids[4] {
		t.Fatalf("removed %d, left %v; want %v", removed, got, ids[3:])
	}
	mustVerifyClean(t, repoPath)
	if ents, _ := os.ReadDir(filepath.Join(repoPath, "backups", "vol")); len(ents) != 2 {
		t.Fatalf("leftovers: %v", ents)
	}
}

// prune never deletes the only backup, an incomplete one, a foreign
// directory or file, anything in a dry run, or anything without a marker.
func TestPruneNeverDeletes(t *testing.T) {
	src, repoPath := dirs(t)
	backupDays(t, src, repoPath, 1)
	volDir := filepath.Join(repoPath, "backups", "vol")
	partial := filepath.Join(volDir, "2026-11-26T030000Z.partial")
	os.MkdirAll(filepath.Join(partial, "tree"), 0o700)
	writeFile(t, filepath.Join(volDir, "2020-01-01T000000Z", "tree", "foreign"), "no info.json: not ours")
	writeFile(t, filepath.Join(volDir, "notes.txt"), "operator's notes")
	writeFile(t, filepath.Join(repoPath, "backups", "other-stuff", "x"), "x")
	snapshot := listAll(t, repoPath)

	strict := retention.Policy{Within: time.Hour}
	if _, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: strict}); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, repoPath); got != snapshot {
		t.Fatalf("prune changed the repository:\nbefore %s\nafter  %s", snapshot, got)
	}
	if _, err := Prune(context.Background(), PruneOptions{Repo: repoPath}); !errors.Is(err, retention.ErrNoRule) {
		t.Fatalf("prune without a rule: %v", err)
	}

	backupDays(t, src, repoPath, 3)
	snapshot = listAll(t, repoPath)
	res, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	wouldRemove := 0
	for _, d := range res.Decisions {
		if !d.Keep {
			wouldRemove++
		}
		if d.Removed {
			t.Fatalf("dry run removed %s", d.ID)
		}
	}
	if wouldRemove == 0 || listAll(t, repoPath) != snapshot {
		t.Fatalf("dry run: would remove %d; repository changed: %v", wouldRemove, listAll(t, repoPath) != snapshot)
	}

	os.Rename(filepath.Join(repoPath, repo.MarkerFile), filepath.Join(repoPath, "marker.bak"))
	if _, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}}); !errors.Is(err, repo.ErrNotRepo) {
		t.Fatalf("prune without a marker: %v", err)
	}
	if _, err := Prune(context.Background(), PruneOptions{Repo: "/", Policy: retention.Policy{Last: 1}}); !errors.Is(err, repo.ErrNotRepo) {
		t.Fatalf("prune of /: %v", err)
	}
}

// listAll describes every path below dir, to detect any change; lock
// files (REPO/lock, REPO/locks/) are not the repository's content.
func listAll(t *testing.T, dir string) string {
	var s string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && filepath.Base(p) != "lock" && filepath.Base(filepath.Dir(p)) != "locks" && filepath.Base(p) != "locks" {
			s += p + "\n"
		}
		return nil
	})
	return s
}

// A prune killed while deleting leaves the kept backups verifying clean and
// the deleted one out of the listing; the next prune finishes the job.
func TestKilledPruneIsFinishedNextTime(t *testing.T) {
	src, repoPath := dirs(t)
	os.Mkdir(filepath.Join(src, "many"), 0o755)
	for i := 0; i < 8000; i++ {
		os.WriteFile(filepath.Join(src, "many", strconv.Itoa(i)), []byte{byte(i)}, 0o644)
	}
	ids := backupDays(t, src, repoPath, 3)
	cmd := childCmd(t, childSpec{Op: "prune", Prune: PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}, Jobs: 1}})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(repoPath, "backups", "vol", "*.deleting"))
		if len(m) > 0 {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("prune never started deleting")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Wait()
	left, _ := filepath.Glob(filepath.Join(repoPath, "backups", "vol", "*.deleting"))
	if len(left) == 0 {
		t.Skip("the prune finished before the kill; nothing to check")
	}
	if got := completeIDs(t, repoPath); len(got) == 0 || got[len(got)-1] != ids[2] {
		t.Fatalf("complete after the kill: %v", got)
	}
	mustVerifyClean(t, repoPath)
	res, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Finished) == 0 {
		t.Fatal("the next prune did not report finishing the interrupted one")
	}
	if ents, _ := os.ReadDir(filepath.Join(repoPath, "backups", "vol")); len(ents) != 1 {
		t.Fatalf("left: %v", ents)
	}
	if d := testtree.RsyncDiff(t, src, backupsOf(t, repoPath, "vol")[0].TreePath()); d != "" {
		t.Fatalf("kept backup damaged:\n%s", d)
	}
}

// After a backup made with a fast clock, the clock steps back: the next
// backup gets the next ID (latest names it) but an earlier start time.
// Prune must keep that one, the backup `latest` resolves to, and a backup
// pinned as made by the same run.
func TestPruneAfterClockStepKeepsLatest(t *testing.T) {
	src, repoPath := dirs(t)
	clock := []time.Time{
		time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC),
		time.Date(2027, 11, 20, 3, 0, 0, 0, time.UTC), // fast clock
		time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC), // stepped back
	}
	var ids []string
	for i, now := range clock {
		writeFile(t, filepath.Join(src, "f"), "version "+strconv.Itoa(i))
		res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src, Now: func() time.Time { return now }})
		ids = append(ids, res.Info.ID)
	}
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := r.Latest("vol")
	if err != nil || latest.ID != ids[2] {
		t.Fatalf("latest %v %v, want %s", latest, err, ids[2])
	}
	res, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}, Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if got := completeIDs(t, repoPath); len(got) != 1 || got[0] != ids[2] {
		t.Fatalf("left %v after prune; want only the latest %s (decisions %+v)", got, ids[2], res.Decisions)
	}
	restored := t.TempDir()
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", ID: "latest", Target: restored}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(restored, "f")); string(b) != "version 2" {
		t.Fatalf("latest restores %q", b)
	}
}

// A backup pinned by the run that made it survives a policy that would
// remove it.
func TestPruneKeepsPinned(t *testing.T) {
	src, repoPath := dirs(t)
	ids := backupDays(t, src, repoPath, 3)
	_, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}, Loc: time.UTC, Pinned: []string{ids[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if got := completeIDs(t, repoPath); len(got) != 2 || got[0] != ids[0] || got[1] != ids[2] {
		t.Fatalf("left %v, want %v and %v", got, ids[0], ids[2])
	}
}
