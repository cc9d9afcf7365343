package blockdiff

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// A backup told which chunks did not change (Options.Unchanged, as
// thin_delta tells) reads only the others, and its index is the one a
// full read makes: same image hash, and it restores the changed image.
func TestBackupReadsOnlyChangedChunks(t *testing.T) {
	const cs = 64 * kib
	ctx := context.Background()
	dir, src, store, prev := firstBackup(t, cs)
	// Change chunk 1 (random data), chunk 4 (a hole gets data) and chunk 6
	// (text becomes a hole).
	f, err := os.OpenFile(src, os.O_WRONLY, 0)
	testsys.Must(t, err)
	for _, s := range []span{{cs + 100, 5000, "random", 9}, {4*cs + 1, 3000, "text", 10}, {6 * cs, cs, "zero", 0}} {
		_, err := f.WriteAt(s.fill(), s.Off)
		testsys.Must(t, err)
	}
	testsys.Must(t, f.Close())
	changed := map[int]bool{1: true, 4: true, 6: true}
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "i2"),
		Options{ChunkSize: cs, Previous: prev, Unchanged: func(i int) bool { return !changed[i] }})
	testsys.Must(t, err)
	if st.ReadBytes != 3*cs || st.Carried != 5 {
		t.Errorf("read %d bytes, carried %d chunks; want %d bytes (3 chunks) and 5", st.ReadBytes, st.Carried, 3*cs)
	}
	full, _, err := Backup(ctx, src, store, filepath.Join(dir, "i3"), Options{ChunkSize: cs})
	testsys.Must(t, err)
	if idx.Hash != full.Hash {
		t.Errorf("image hash %s, a full read gives %s", idx.Hash, full.Hash)
	}
	checkStats(t, st, idx)
	restoreAndCompare(t, idx, store, src)
}

// A chunk Unchanged names whose stored copy the store lost, or holds
// damaged, is read and stored again rather than carried.
func TestBackupReadsUnchangedChunkTheStoreLost(t *testing.T) {
	const cs = 64 * kib
	ctx := context.Background()
	dir, src, store, prev := firstBackup(t, cs)
	testsys.Must(t, os.Remove(store.path(prev.Entries[1].ID)))
	damaged := prev.Entries[5].ID
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "i2"), Options{ChunkSize: cs, Previous: prev,
		Damaged: map[ID]bool{damaged: true}, Unchanged: func(int) bool { return true }})
	testsys.Must(t, err)
	if st.ReadBytes != 2*cs || st.NewChunks != 2 {
		t.Errorf("read %d bytes and stored %d chunks; want the 2 chunks the store lost or holds damaged", st.ReadBytes, st.NewChunks)
	}
	restoreAndCompare(t, idx, store, src)
	if probs, err := Verify(ctx, idx, store, 1); err != nil || len(probs) != 0 {
		t.Errorf("verify: %v %v", err, probs)
	}
}

// Unchanged without a previous index of the same shape is refused: the
// entries to carry would not exist.
func TestBackupUnchangedNeedsMatchingPrevious(t *testing.T) {
	const cs = 64 * kib
	dir, src, store, prev := firstBackup(t, cs)
	all := func(int) bool { return true }
	for name, o := range map[string]Options{
		"no previous":      {ChunkSize: cs, Unchanged: all},
		"other chunk size": {ChunkSize: 2 * cs, Previous: prev, Unchanged: all},
	} {
		if _, _, err := Backup(context.Background(), src, store, filepath.Join(dir, "x"), o); err == nil {
			t.Errorf("%s: backup succeeded", name)
		}
	}
	testsys.Must(t, os.Truncate(src, 9*cs))
	if _, _, err := Backup(context.Background(), src, store, filepath.Join(dir, "x"), Options{ChunkSize: cs, Previous: prev, Unchanged: all}); err == nil {
		t.Error("other size: backup succeeded")
	}
}
