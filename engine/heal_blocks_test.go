package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// blockRepo makes a repository with one block backup of a fresh image
// and returns the image, the repository and the path of one of its chunks.
func blockRepo(t *testing.T) (img, repoPath, chunk string) {
	t.Helper()
	dir := t.TempDir()
	img, repoPath = filepath.Join(dir, "disk.img"), newRepo(t, filepath.Join(dir, "repo"))
	makeImage(t, img)
	if _, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(20)}}); err != nil {
		t.Fatal(err)
	}
	return img, repoPath, anyChunk(t, repoPath)
}

// restoreMatches restores the newest backup of vm and compares it with img.
func restoreMatches(t *testing.T, repoPath, img string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "restored.img")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vm", Target: out}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if sha(t, out) != sha(t, img) {
		t.Fatal("restored image differs from the source")
	}
}

// A chunk that went missing from the store is stored again by the next
// backup of the same (unchanged) data, which then restores and verifies.
func TestBlockBackupRestoresMissingChunk(t *testing.T) {
	img, repoPath, chunk := blockRepo(t)
	if err := os.Remove(chunk); err != nil {
		t.Fatal(err)
	}
	res, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(21)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Info.Copied != 1 {
		t.Errorf("second backup stored %d chunks, want the 1 that went missing", res.Info.Copied)
	}
	if _, err := os.Stat(chunk); err != nil {
		t.Errorf("missing chunk not stored again: %v", err)
	}
	restoreMatches(t, repoPath, img)
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath, Name: "vm", ID: res.Info.ID})
	if err != nil {
		t.Fatalf("verify of the new backup: %v %+v", err, rep.Problems)
	}
}

// A chunk verify found damaged is recorded in the repository's damaged
// list, replaced by the next backup that reads the same data and dropped
// from the list; afterwards every backup verifies clean.
func TestBlockBackupHealsDamagedChunk(t *testing.T) {
	img, repoPath, chunk := blockRepo(t)
	flipByte(t, chunk, 10)
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath})
	if !errors.Is(err, ErrVerifyFailed) || len(rep.Problems) == 0 || rep.Problems[0].Kind != "corrupt" {
		t.Fatalf("verify of a damaged chunk: %v %+v", err, rep)
	}
	if ids := damagedChunkList(t, repoPath); len(ids) != 1 || ids[0] != filepath.Base(chunk) {
		t.Fatalf("damaged chunks listed after verify: %v, want %s", ids, filepath.Base(chunk))
	}
	if _, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(21)}}); err != nil {
		t.Fatal(err)
	}
	if ids := damagedChunkList(t, repoPath); len(ids) != 0 {
		t.Errorf("damaged chunks listed after the backup replaced them: %v", ids)
	}
	mustVerifyClean(t, repoPath) // both backups: the old one shares the healed chunk
	restoreMatches(t, repoPath, img)
}

// verify --repair --source: a damaged and a missing chunk are stored
// again from the source image; afterwards verify is clean and the
// damaged list holds no chunk.
func TestRepairBlocksFromImage(t *testing.T) {
	img, repoPath, chunk := blockRepo(t)
	flipByte(t, chunk, 10)
	if _, err := Verify(context.Background(), VerifyOptions{Repo: repoPath}); !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("verify of a damaged chunk: %v", err)
	}
	if ids := damagedChunkList(t, repoPath); len(ids) != 1 {
		t.Fatalf("damaged chunks listed after verify: %v, want one", ids)
	}
	other := anyChunkBut(t, repoPath, chunk)
	if err := os.Remove(other); err != nil {
		t.Fatal(err)
	}
	rep, err := RepairBlocks(context.Background(), BlockRepairOptions{Repo: repoPath, Name: "vm", Source: img})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Healed) != 2 || len(rep.Unhealable) != 0 || len(rep.Backups) != 1 {
		t.Fatalf("repair: %+v", rep)
	}
	mustVerifyClean(t, repoPath)
	r, err := repoOpen(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := r.DamagedChunks(); err != nil || len(ids) != 0 {
		t.Errorf("damaged chunks listed after repair: %v %v", ids, err)
	}
	restoreMatches(t, repoPath, img)
}

// anyChunkBut returns the path of a stored chunk other than not.
func anyChunkBut(t *testing.T, repoPath, not string) string {
	t.Helper()
	var found string
	filepath.Walk(filepath.Join(repoPath, "chunks"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && found == "" && p != not && !strings.HasPrefix(fi.Name(), ".") {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatal("only one chunk stored")
	}
	return found
}

// verify --repair --source IMAGE on a block backup with a damaged and a
// missing chunk heals both through Verify itself, which then reports them
// as healed and returns no error; without --source it says what would heal
// them and fails.
func TestVerifyRepairHealsBlockBackup(t *testing.T) {
	img, repoPath, chunk := blockRepo(t)
	flipByte(t, chunk, 10)
	if err := os.Remove(anyChunkBut(t, repoPath, chunk)); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath, Repair: true})
	if !errors.Is(err, ErrVerifyFailed) || rep.Repair == nil || len(rep.Repair.Unhealed) != 2 ||
		!strings.Contains(rep.Repair.Unhealed[0].Reason, "--source") {
		t.Fatalf("repair without a source: %v %+v", err, rep.Repair)
	}
	rep, err = Verify(context.Background(), VerifyOptions{Repo: repoPath, Repair: true, Source: img})
	if err != nil || len(rep.Problems) != 0 || rep.Repair == nil || len(rep.Repair.Healed) != 2 || len(rep.Repair.Unhealed) != 0 {
		t.Fatalf("repair from the image: %v %+v %+v", err, rep.Problems, rep.Repair)
	}
	mustVerifyClean(t, repoPath)
	restoreMatches(t, repoPath, img)
}

// damagedChunkList reads the damaged chunks recorded in the repository.
func damagedChunkList(t *testing.T, repoPath string) []string {
	t.Helper()
	r, err := repoOpen(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := r.DamagedChunks()
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
