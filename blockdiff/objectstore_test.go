package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/objstore"
)

func newObjectStore(t *testing.T) (*ObjectStore, objstore.Store) {
	t.Helper()
	objs, err := objstore.OpenDir(t.TempDir())
	testsys.Must(t, err)
	return NewObjectStore(objs, nil), objs
}

// ObjectStore keeps the ChunkStore promises over an objstore: a chunk is
// never rewritten by Put, Replace replaces it, missing chunks are
// ErrNotFound (-1 in StatMany), List names only chunk objects.
func TestObjectStore(t *testing.T) {
	ctx := context.Background()
	s, objs := newObjectStore(t)
	a, b, c := sumID([]byte("a")), sumID([]byte("b")), sumID([]byte("c"))
	if _, err := s.Get(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing chunk: %v", err)
	}
	testsys.Must(t, s.Put(ctx, a, []byte("stored a")))
	testsys.Must(t, s.Put(ctx, a, []byte("other")))
	testsys.Must(t, s.Put(ctx, b, []byte("stored b")))
	testsys.Must(t, s.Replace(ctx, b, []byte("healed b")))
	testsys.Must(t, s.Sync(ctx))
	for id, want := range map[ID]string{a: "stored a", b: "healed b"} {
		if got, err := s.Get(ctx, id); err != nil || string(got) != want {
			t.Errorf("Get %s = %q, %v; want %q", id, got, err, want)
		}
	}
	sizes, err := s.StatMany(ctx, []ID{a, c, b})
	if err != nil || !slices.Equal(sizes, []int64{8, -1, 8}) {
		t.Errorf("StatMany = %v, %v; want [8 -1 8]", sizes, err)
	}
	// Not chunks: a foreign object, a chunk id under the wrong directory.
	testsys.Must(t, objs.Put(ctx, "chunks/zz/notes.txt", []byte("x")))
	testsys.Must(t, objs.Put(ctx, "chunks/00/"+c.String(), []byte("x")))
	if ids := listIDs(t, s); !slices.Equal(ids, sortedIDs(a, b)) {
		t.Errorf("List = %v, want a and b", ids)
	}
	testsys.Must(t, s.Delete(ctx, a))
	testsys.Must(t, s.Delete(ctx, a))
	if _, err := s.Stat(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat of a deleted chunk: %v", err)
	}
}

// An image backed up into an ObjectStore restores bit-identical, and a
// second backup of it stores nothing.
func TestBackupIntoObjectStore(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 10*64*kib, span{0, 3 * 64 * kib, "text", 1}, span{5 * 64 * kib, 64 * kib, "random", 2})
	s, _ := newObjectStore(t)
	o := Options{ChunkSize: 64 * kib}
	idx, st1, err := Backup(context.Background(), src, s, filepath.Join(dir, "i1"), o)
	testsys.Must(t, err)
	_, st2, err := Backup(context.Background(), src, s, filepath.Join(dir, "i2"), o)
	testsys.Must(t, err)
	if st1.NewChunks != 4 || st2.NewChunks != 0 || st2.StoredBytes != 0 {
		t.Errorf("first run %+v, second %+v: want 4 new chunks, then none", st1, st2)
	}
	restoreAndCompare(t, idx, s, src)
}

// With an id key, chunk ids are keyed: the same image gets ids that
// differ from plain BLAKE3 and from another key's, and it restores and
// verifies clean; verified without the key, every chunk is corrupt.
func TestKeyedChunkIDs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 4*64*kib, span{0, 4 * 64 * kib, "text", 7})
	o := Options{ChunkSize: 64 * kib}
	plainStore, _ := newObjectStore(t)
	plain, _, err := Backup(ctx, src, plainStore, filepath.Join(dir, "plain"), o)
	testsys.Must(t, err)
	var idxs []*Index
	for i, key := range []*[32]byte{{1}, {2}} {
		objs, err := objstore.OpenDir(t.TempDir())
		testsys.Must(t, err)
		s := NewObjectStore(objs, key)
		idx, _, err := Backup(ctx, src, s, filepath.Join(dir, fmt.Sprint(i)), o)
		testsys.Must(t, err)
		restoreAndCompare(t, idx, s, src)
		if probs, err := Verify(ctx, idx, s, 1); err != nil || len(probs) != 0 {
			t.Errorf("verify with key %d: %v, %v", i, probs, err)
		}
		unkeyed := NewObjectStore(objs, nil)
		if probs, err := Verify(ctx, idx, unkeyed, 1); err != nil || len(probs) != 4 {
			t.Errorf("verify without the key: %d problems, %v; want 4 (no chunk hashes to its id)", len(probs), err)
		}
		idxs = append(idxs, idx)
	}
	ids := func(idx *Index) []ID {
		var out []ID
		testsys.Must(t, idx.Chunks(func(id ID) error { out = append(out, id); return nil }))
		return out
	}
	p, a, b := ids(plain), ids(idxs[0]), ids(idxs[1])
	for i := range p {
		if p[i] == a[i] || a[i] == b[i] || p[i] == b[i] {
			t.Errorf("chunk %d has the same id under two keys (or none): %s %s %s", i, p[i], a[i], b[i])
		}
	}
}
