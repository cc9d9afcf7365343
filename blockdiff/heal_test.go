package blockdiff

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// firstBackup writes the 8-chunk image the healing tests share (random
// data, a hole, text) into a new directory and backs it up once in
// cs-byte chunks into the store there: the directory, the image, the
// store and the first index.
func firstBackup(t *testing.T, cs int64) (dir, src string, store *DirStore, prev *Index) {
	t.Helper()
	dir = t.TempDir()
	src = filepath.Join(dir, "src")
	writeImage(t, src, 8*cs, span{0, 3 * cs, "random", 1}, span{5 * cs, 2 * cs, "text", 2})
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	testsys.Must(t, err)
	prev, _, err = Backup(context.Background(), src, store, filepath.Join(dir, "i1"), Options{ChunkSize: int(cs)})
	testsys.Must(t, err)
	return dir, src, store, prev
}

// A backup with Options.Previous stores again a chunk the store lost,
// so its index restores.
func TestBackupWithPreviousRestoresMissingChunk(t *testing.T) {
	const cs = 64 * kib
	ctx := context.Background()
	dir, src, store, prev := firstBackup(t, cs)
	lost := store.path(prev.Entries[1].ID)
	testsys.Must(t, os.Remove(lost))
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "i2"), Options{ChunkSize: cs, Previous: prev})
	testsys.Must(t, err)
	if st.NewChunks != 1 {
		t.Errorf("stored %d chunks, want the 1 the store lost", st.NewChunks)
	}
	restoreAndCompare(t, idx, store, src)
	if probs, err := Verify(ctx, idx, store, 1); err != nil || len(probs) != 0 {
		t.Errorf("verify: %v %v", err, probs)
	}
}

// A backup replaces a damaged stored chunk: one listed in
// Options.Damaged (same length, wrong bytes), and one whose stored length
// differs from what Previous records (truncated).
func TestBackupReplacesDamagedChunks(t *testing.T) {
	const cs = 64 * kib
	ctx := context.Background()
	dir, src, store, prev := firstBackup(t, cs)
	flipped, cut := prev.Entries[0].ID, prev.Entries[5].ID
	flipByte(t, store.path(flipped), 0.5)
	testsys.Must(t, os.Truncate(store.path(cut), 100))
	if probs, err := Verify(ctx, prev, store, 1); err != nil || len(probs) != 2 {
		t.Fatalf("verify of the damaged store: %v %v", err, probs)
	}
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "i2"),
		Options{ChunkSize: cs, Previous: prev, Damaged: map[ID]bool{flipped: true}})
	testsys.Must(t, err)
	if !slices.Equal(st.Healed, []ID{flipped, cut}) || st.NewChunks != 2 {
		t.Errorf("healed %v, %d new chunks; want %v and %v", st.Healed, st.NewChunks, flipped, cut)
	}
	if _, temp := chunkFiles(t, store.Dir()); len(temp) != 0 {
		t.Errorf("temporary files left: %v", temp)
	}
	for _, i := range []*Index{prev, idx} {
		if probs, err := Verify(ctx, i, store, 1); err != nil || len(probs) != 0 {
			t.Errorf("verify after healing: %v %v", err, probs)
		}
	}
	restoreAndCompare(t, prev, store, src)
}

// RepairFromImage stores again, from the image, a chunk the store lost
// and one it holds damaged, and reports one the image no longer holds.
func TestRepairFromImage(t *testing.T) {
	const cs = 64 * kib
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 8*cs+100, span{0, 3 * cs, "random", 1}, span{5 * cs, 3*cs + 100, "text", 2})
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	testsys.Must(t, err)
	idx, _, err := Backup(ctx, src, store, filepath.Join(dir, "index"), Options{ChunkSize: cs})
	testsys.Must(t, err)
	flipped, lost, gone := idx.Entries[1].ID, idx.Entries[8].ID, idx.Entries[6].ID // 8: the short last chunk
	flipByte(t, store.path(flipped), 0.5)
	testsys.Must(t, os.Remove(store.path(lost)))
	testsys.Must(t, os.Remove(store.path(gone)))
	image := filepath.Join(dir, "image")
	writeImage(t, image, 8*cs+100, span{0, 3 * cs, "random", 1}, span{5 * cs, 3*cs + 100, "text", 2}, span{6 * cs, 10, "random", 3})

	rep, err := RepairFromImage(ctx, store, idx, image)
	testsys.Must(t, err)
	healed := []ID{}
	for _, p := range rep.Healed {
		healed = append(healed, p.ID)
	}
	if !slices.Equal(healed, []ID{flipped, lost}) || len(rep.Unhealable) != 1 || rep.Unhealable[0].ID != gone || rep.Checked != 7 {
		t.Fatalf("healed %v, unhealable %v, checked %d; want %v and %v, %v, 7", healed, rep.Unhealable, rep.Checked, flipped, lost, gone)
	}
	if !errors.Is(rep.Healed[0].Err, ErrCorruptChunk) || !errors.Is(rep.Healed[1].Err, ErrNotFound) {
		t.Errorf("healed problems: %v", rep.Healed)
	}
	probs, err := Verify(ctx, idx, store, 1)
	if err != nil || len(probs) != 1 || probs[0].ID != gone {
		t.Errorf("verify after repair: %v %v; want only chunk 6 missing", err, probs)
	}
	if _, temp := chunkFiles(t, store.Dir()); len(temp) != 0 {
		t.Errorf("temporary files left: %v", temp)
	}
}
