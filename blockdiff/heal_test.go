package blockdiff

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A backup with Options.Previous stores again a chunk the store lost,
// so its index restores.
func TestBackupWithPreviousRestoresMissingChunk(t *testing.T) {
	const cs = 64 * kib
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 8*cs, span{0, 3 * cs, "random", 1}, span{5 * cs, 2 * cs, "text", 2})
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	must(t, err)
	prev, _, err := Backup(ctx, src, store, filepath.Join(dir, "i1"), Options{ChunkSize: cs})
	must(t, err)
	lost := store.path(prev.Entries[1].ID)
	must(t, os.Remove(lost))
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "i2"), Options{ChunkSize: cs, Previous: prev})
	must(t, err)
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
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 8*cs, span{0, 3 * cs, "random", 1}, span{5 * cs, 2 * cs, "text", 2})
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	must(t, err)
	prev, _, err := Backup(ctx, src, store, filepath.Join(dir, "i1"), Options{ChunkSize: cs})
	must(t, err)
	flipped, cut := prev.Entries[0].ID, prev.Entries[5].ID
	flipByte(t, store.path(flipped), 0.5)
	must(t, os.Truncate(store.path(cut), 100))
	if probs, err := Verify(ctx, prev, store, 1); err != nil || len(probs) != 2 {
		t.Fatalf("verify of the damaged store: %v %v", err, probs)
	}
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "i2"),
		Options{ChunkSize: cs, Previous: prev, Damaged: map[ID]bool{flipped: true}})
	must(t, err)
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
