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

func TestGCDeletesExactlyUnreferenced(t *testing.T) {
	const cs = 64 * kib
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	testsys.Must(t, err)
	// A and B share chunks 0-2; A has 3 of its own, B 2.
	srcA, srcB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	shared := []span{{0, 3 * cs, "text", 1}}
	writeImage(t, srcA, 8*cs, append(shared, span{3 * cs, 3 * cs, "random", 2})...)
	writeImage(t, srcB, 8*cs, append(shared, span{6 * cs, 2 * cs, "random", 3})...)
	idxA, _, err := Backup(ctx, srcA, store, filepath.Join(dir, "ia"), Options{ChunkSize: cs})
	testsys.Must(t, err)
	idxB, _, err := Backup(ctx, srcB, store, filepath.Join(dir, "ib"), Options{ChunkSize: cs})
	testsys.Must(t, err)
	// A temporary file is no chunk: GC leaves it alone.
	stale := filepath.Join(filepath.Dir(store.path(idxA.Entries[3].ID)), ".stale.tmp")
	testsys.Must(t, os.WriteFile(stale, nil, 0o600))

	liveB := map[ID]bool{}
	testsys.Must(t, idxB.Chunks(func(id ID) error { liveB[id] = true; return nil }))
	before := listIDs(t, store)
	var wantGone []ID
	for _, id := range before {
		if !liveB[id] {
			wantGone = append(wantGone, id)
		}
	}
	if len(before) != 8 || len(wantGone) != 3 {
		t.Fatalf("fixture: %d chunks, %d only in A; want 8 and 3", len(before), len(wantGone))
	}
	removed, err := GC(ctx, store, func(id ID) bool { return liveB[id] })
	testsys.Must(t, err)
	after := listIDs(t, store)
	if removed != 3 {
		t.Errorf("removed %d, want 3", removed)
	}
	for _, id := range before {
		if slices.Contains(after, id) == slices.Contains(wantGone, id) {
			t.Errorf("chunk %s: kept=%v, only in A=%v", id, slices.Contains(after, id), slices.Contains(wantGone, id))
		}
	}
	restoreAndCompare(t, idxB, store, srcB)
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("temporary file touched: %v", err)
	}
	// A's own chunks are gone: verifying A names exactly them as missing.
	probs, err := Verify(ctx, idxA, store, 0)
	testsys.Must(t, err)
	if len(probs) != 3 || probs[0].Chunk != 3 || probs[2].Chunk != 5 || !errors.Is(probs[0], ErrNotFound) {
		t.Errorf("verify of A after GC: %v", probs)
	}
	// Everything live: nothing to remove.
	if n, err := GC(ctx, store, func(ID) bool { return true }); n != 0 || err != nil {
		t.Errorf("GC with all live removed %d, %v", n, err)
	}
}
