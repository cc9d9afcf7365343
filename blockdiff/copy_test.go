package blockdiff

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/objstore"
)

// copyImage writes the image the copy tests use: 16 chunks of 64 KiB,
// 7 of them holes, 9 of data with one repeated: 8 distinct chunks.
func copyImage(t *testing.T, path string, seed uint64) {
	t.Helper()
	writeImage(t, path, 16*64*kib,
		span{0, 3 * 64 * kib, "text", seed},
		span{5 * 64 * kib, 2 * 64 * kib, "random", seed + 1},
		span{9 * 64 * kib, 64 * kib, "text", 99}, // the same chunk twice
		span{12 * 64 * kib, 64 * kib, "text", 99},
		span{14 * 64 * kib, 64*kib + 100, "random", seed + 2})
}

// keyedStore is an ObjectStore over a fresh directory, with chunk ids
// keyed when key is set.
func keyedStore(t *testing.T, key *[32]byte) *ObjectStore {
	t.Helper()
	objs, err := objstore.OpenDir(t.TempDir())
	testsys.Must(t, err)
	return NewObjectStore(objs, key)
}

// Between stores that name chunks alike, a copy stores only the chunks
// the target lacks (reading only those), keeps holes, and restores
// bit-identical; a second copy reads and stores nothing. The copy's
// index is the source's, entry for entry.
func TestCopyIndexStoresOnlyMissing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img, older := filepath.Join(dir, "img"), filepath.Join(dir, "older")
	copyImage(t, img, 1)
	copyImage(t, older, 1)
	f, err := os.OpenFile(older, os.O_WRONLY, 0)
	testsys.Must(t, err)
	_, err = f.WriteAt(span{0, 64 * kib, "random", 50}.fill(), 0) // chunk 0 differs
	testsys.Must(t, err)
	testsys.Must(t, f.Close())
	o := Options{ChunkSize: 64 * kib}
	from, to := newMemStore(), newMemStore()
	idx, _, err := Backup(ctx, img, from, filepath.Join(dir, "src.idx"), o)
	testsys.Must(t, err)
	// The target holds the older image already: all but chunk 0.
	_, _, err = Backup(ctx, older, to, filepath.Join(dir, "older.idx"), o)
	testsys.Must(t, err)
	to.puts, to.syncs = 0, 0

	out, st, err := CopyIndex(ctx, idx, from, to, filepath.Join(dir, "copy.idx"), CopyOptions{})
	testsys.Must(t, err)
	if st.NewChunks != 1 || st.ReadChunks != 1 || to.puts != 1 || st.StoredBytes != int64(idx.Entries[0].Stored) {
		t.Errorf("first copy: %+v, %d puts; want chunk 0 alone read and stored", st, to.puts)
	}
	if st.Holes != 7 || st.Chunks != 16 || st.Holes+st.NewChunks+st.ReusedChunks != st.Chunks {
		t.Errorf("first copy: %+v; want 16 chunks, 7 holes, adding up", st)
	}
	if to.syncs == 0 {
		t.Error("the target was never synced before the index was written")
	}
	for i, e := range idx.Entries {
		if out.Entries[i] != e {
			t.Errorf("entry %d: %v, the source's %v", i, out.Entries[i], e)
		}
	}
	if out.Hash != idx.Hash {
		t.Errorf("image hash %s, the source's %s", out.Hash, idx.Hash)
	}
	written, err := ReadIndex(filepath.Join(dir, "copy.idx"))
	testsys.Must(t, err)
	if written.Hash != out.Hash || written.Len() != 16 {
		t.Errorf("written index: %s, %d chunks", written.Hash, written.Len())
	}
	restoreAndCompare(t, written, to, img)

	_, st2, err := CopyIndex(ctx, written, from, to, filepath.Join(dir, "again.idx"), CopyOptions{})
	testsys.Must(t, err)
	if st2.NewChunks != 0 || st2.ReadChunks != 0 || st2.StoredBytes != 0 || to.puts != 1 {
		t.Errorf("second copy: %+v, %d puts in all; want nothing read or stored", st2, to.puts)
	}
}

// Between stores that name chunks differently (keyed ids), the copy
// names every chunk by the target's id of its data: keyed → plain gives
// the very index a plain backup makes, plain → keyed and keyed → keyed
// (another key) restore bit-identical and verify clean. A second copy
// stores nothing; with the first copy as Previous it reads nothing either.
func TestCopyIndexKeyedIDs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	copyImage(t, img, 3)
	o := Options{ChunkSize: 64 * kib}
	plainRef, _, err := Backup(ctx, img, keyedStore(t, nil), filepath.Join(dir, "ref.idx"), o)
	testsys.Must(t, err)
	tests := []struct {
		name     string
		from, to *[32]byte
	}{
		{"keyed to plain", &[32]byte{1}, nil},
		{"plain to keyed", nil, &[32]byte{2}},
		{"keyed to another key", &[32]byte{1}, &[32]byte{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			from, to := keyedStore(t, tt.from), keyedStore(t, tt.to)
			idx, _, err := Backup(ctx, img, from, filepath.Join(dir, "src.idx"), o)
			testsys.Must(t, err)
			out, st, err := CopyIndex(ctx, idx, from, to, filepath.Join(dir, "copy.idx"), CopyOptions{})
			testsys.Must(t, err)
			if st.NewChunks != 8 || st.ReadChunks != 8 || st.Holes != 7 {
				t.Errorf("first copy: %+v; want the 8 distinct chunks read and stored, 7 holes", st)
			}
			for i, e := range out.Entries {
				if !e.Hole() && e.ID == idx.Entries[i].ID {
					t.Errorf("entry %d keeps the source's id %s", i, e.ID)
				}
			}
			if tt.to == nil && out.Hash != plainRef.Hash {
				t.Errorf("image hash %s, a plain backup's %s", out.Hash, plainRef.Hash)
			}
			if probs, err := Verify(ctx, out, to, 1); err != nil || len(probs) != 0 {
				t.Errorf("verify of the copy: %v, %v", probs, err)
			}
			restoreAndCompare(t, out, to, img)

			_, st2, err := CopyIndex(ctx, idx, from, to, filepath.Join(dir, "again.idx"), CopyOptions{})
			testsys.Must(t, err)
			if st2.NewChunks != 0 || st2.ReusedChunks != 9 {
				t.Errorf("second copy: %+v; want nothing stored", st2)
			}
			prev := &CopyPair{From: idx, To: out}
			_, st3, err := CopyIndex(ctx, idx, from, to, filepath.Join(dir, "paired.idx"), CopyOptions{Previous: prev})
			testsys.Must(t, err)
			if st3.NewChunks != 0 || st3.ReadChunks != 0 {
				t.Errorf("copy with the first as Previous: %+v; want nothing read or stored", st3)
			}
			paired, err := ReadIndex(filepath.Join(dir, "paired.idx"))
			testsys.Must(t, err)
			if paired.Hash != out.Hash {
				t.Errorf("copy with Previous: image hash %s, the first copy's %s", paired.Hash, out.Hash)
			}
		})
	}
}

// failSync is a memStore whose Sync fails.
type failSync struct{ *memStore }

func (failSync) Sync(context.Context) error { return errInjected }

// A source chunk that does not decode to its id, or is missing, fails
// the copy, and no index is written; so does a target that cannot sync,
// and an index whose image hash does not match its chunk list fails
// before anything is stored. A target chunk listed as damaged is stored
// again.
func TestCopyIndexFailures(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	copyImage(t, img, 5)
	from := newMemStore()
	idx, _, err := Backup(ctx, img, from, filepath.Join(dir, "src.idx"), Options{ChunkSize: 64 * kib})
	testsys.Must(t, err)
	victim := idx.Entries[6].ID

	t.Run("corrupt source chunk", func(t *testing.T) {
		good := from.chunks[victim]
		bad := append([]byte(nil), good...)
		bad[len(bad)/2] ^= 1
		from.chunks[victim] = bad
		defer func() { from.chunks[victim] = good }()
		path := filepath.Join(t.TempDir(), "copy.idx")
		_, _, err := CopyIndex(ctx, idx, from, newMemStore(), path, CopyOptions{})
		if !errors.Is(err, ErrCorruptChunk) {
			t.Errorf("copy of a corrupt chunk: %v, want ErrCorruptChunk", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an index was written: %v", err)
		}
	})
	t.Run("missing source chunk", func(t *testing.T) {
		good := from.chunks[victim]
		delete(from.chunks, victim)
		defer func() { from.chunks[victim] = good }()
		path := filepath.Join(t.TempDir(), "copy.idx")
		_, _, err := CopyIndex(ctx, idx, from, newMemStore(), path, CopyOptions{})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("copy of a missing chunk: %v, want ErrNotFound", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an index was written: %v", err)
		}
	})
	t.Run("target sync fails", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "copy.idx")
		_, _, err := CopyIndex(ctx, idx, from, failSync{newMemStore()}, path, CopyOptions{})
		if !errors.Is(err, errInjected) {
			t.Errorf("copy to a store that cannot sync: %v", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an index was written: %v", err)
		}
	})
	t.Run("image hash mismatch", func(t *testing.T) {
		// More than one batch of entries, so that the copy would store
		// chunks before the end of the list found the mismatch.
		bad := Index{Size: (copyBatch + 1) * 64 * kib, ChunkSize: 64 * kib}
		for range copyBatch + 1 {
			bad.Entries = append(bad.Entries, idx.Entries[6])
		}
		bad.Hash = bad.ImageHash()
		bad.Hash[0] ^= 1
		to := newMemStore()
		_, _, err := CopyIndex(ctx, &bad, from, to, filepath.Join(t.TempDir(), "copy.idx"), CopyOptions{})
		if !errors.Is(err, ErrCorruptIndex) || to.puts != 0 {
			t.Errorf("copy of an index whose hash does not match: %v, %d chunks stored; want ErrCorruptIndex, none", err, to.puts)
		}
	})
	t.Run("damaged target chunk", func(t *testing.T) {
		to := newMemStore()
		_, _, err := CopyIndex(ctx, idx, from, to, filepath.Join(t.TempDir(), "first.idx"), CopyOptions{})
		testsys.Must(t, err)
		to.chunks[victim][3] ^= 1 // same length: only the damaged list knows
		_, st, err := CopyIndex(ctx, idx, from, to, filepath.Join(t.TempDir(), "copy.idx"), CopyOptions{Damaged: map[ID]bool{victim: true}})
		testsys.Must(t, err)
		if len(st.Healed) != 1 || st.Healed[0] != victim || st.NewChunks != 1 {
			t.Errorf("copy over a damaged chunk: %+v; want it alone stored again", st)
		}
		if probs, err := Verify(ctx, idx, to, 1); err != nil || len(probs) != 0 {
			t.Errorf("verify after the copy healed it: %v, %v", probs, err)
		}
	})
}
