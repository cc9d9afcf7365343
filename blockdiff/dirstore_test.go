package blockdiff

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestDirStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "chunks")
	s, err := OpenDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := sumID([]byte("a")), sumID([]byte("b"))
	if _, err := s.Stat(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat of a missing chunk: %v", err)
	}
	must(t, s.Put(ctx, a, []byte("stored a")))
	// Written, not yet durable: only a temporary file, invisible.
	final, temp := chunkFiles(t, dir)
	if len(final) != 0 || len(temp) != 1 {
		t.Errorf("after Put: final %v, temp %v; want one temporary file", final, temp)
	}
	if _, err := s.Stat(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat before Sync: %v", err)
	}
	must(t, s.Sync(ctx))
	final, temp = chunkFiles(t, dir)
	if want := filepath.Join(dir, a.String()[:2], a.String()); !slices.Equal(final, []string{want}) || len(temp) != 0 {
		t.Errorf("after Sync: final %v, temp %v; want %s", final, temp, want)
	}
	if n, err := s.Stat(ctx, a); err != nil || n != 8 {
		t.Errorf("Stat = %d, %v", n, err)
	}
	// Never rewritten.
	must(t, s.Put(ctx, a, []byte("other")))
	must(t, s.Put(ctx, b, []byte("stored b")))
	must(t, s.Put(ctx, b, []byte("other b")))
	must(t, s.Sync(ctx))
	for id, want := range map[ID]string{a: "stored a", b: "stored b"} {
		if got, err := s.Get(ctx, id); err != nil || string(got) != want {
			t.Errorf("Get %s = %q, %v; want %q", id, got, err, want)
		}
	}
	if ids := listIDs(t, s); !slices.Equal(ids, sortedIDs(a, b)) {
		t.Errorf("List = %v", ids)
	}
	must(t, s.Delete(ctx, a))
	if err := s.Delete(ctx, a); err != nil {
		t.Errorf("deleting a missing chunk: %v", err)
	}
	if _, err := s.Get(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of deleted chunk: %v", err)
	}
	if ids := listIDs(t, s); !slices.Equal(ids, []ID{b}) {
		t.Errorf("List after Delete = %v", ids)
	}
}

func TestDirStoreIgnoresForeignFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, a := storeWithOneChunk(t, dir, "x")
	sub := filepath.Join(dir, a.String()[:2])
	other := sumID([]byte("other")).String()
	for _, name := range []string{"README", other, "." + a.String() + ".123.tmp", a.String() + "0"} {
		must(t, os.WriteFile(filepath.Join(sub, name), []byte("junk"), 0o600))
	}
	must(t, os.Mkdir(filepath.Join(dir, "zz"), 0o700))
	if ids := listIDs(t, s); !slices.Equal(ids, []ID{a}) {
		t.Errorf("List = %v, want only %s", ids, a)
	}
	// A file too large to be a chunk is refused, not read.
	big := sumID([]byte("big"))
	must(t, os.MkdirAll(filepath.Join(dir, big.String()[:2]), 0o700))
	must(t, os.WriteFile(s.path(big), nil, 0o600))
	must(t, os.Truncate(s.path(big), maxStoredLen+1))
	if _, err := s.Get(ctx, big); err == nil {
		t.Error("Get read an oversized chunk file")
	}
}

func TestDirStoreRemoveTemp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, a := storeWithOneChunk(t, dir, "x")
	stale := filepath.Join(dir, a.String()[:2], "."+a.String()+".999.tmp")
	must(t, os.WriteFile(stale, []byte("half"), 0o600))
	if ids := listIDs(t, s); !slices.Equal(ids, []ID{a}) {
		t.Errorf("List = %v", ids)
	}
	n, err := s.RemoveTemp(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RemoveTemp = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file still there: %v", err)
	}
	if got, err := s.Get(ctx, a); err != nil || string(got) != "x" {
		t.Errorf("chunk lost: %q, %v", got, err)
	}
}

func TestDirStoreConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				data := []byte{byte(i), byte(g % 2)} // pairs of goroutines store the same chunks
				if err := s.Put(ctx, sumID(data), data); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	must(t, s.Sync(ctx))
	final, temp := chunkFiles(t, dir)
	if len(final) != 100 || len(temp) != 0 {
		t.Errorf("%d chunks, %d temporary files; want 100 and 0", len(final), len(temp))
	}
	for _, p := range final {
		data, err := os.ReadFile(p)
		if err != nil || sumID(data).String() != filepath.Base(p) {
			t.Errorf("%s holds %x", p, data)
		}
	}
}

func listIDs(t *testing.T, s ChunkStore) []ID {
	t.Helper()
	var ids []ID
	must(t, s.List(context.Background(), func(id ID) error { ids = append(ids, id); return nil }))
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

func sortedIDs(ids ...ID) []ID {
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Discard removes what Put wrote since the last Sync, and nothing else.
func TestDirStoreDiscard(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenDirStore(dir)
	must(t, err)
	a, b := sumID([]byte("a")), sumID([]byte("b"))
	must(t, s.Put(ctx, a, []byte("kept")))
	must(t, s.Sync(ctx))
	must(t, s.Put(ctx, b, []byte("dropped")))
	s.Discard()
	must(t, s.Sync(ctx))
	if final, temp := chunkFiles(t, dir); len(final) != 1 || len(temp) != 0 {
		t.Errorf("after Discard: final %v, temp %v; want only %s", final, temp, a)
	}
	if _, err := s.Stat(ctx, b); !errors.Is(err, ErrNotFound) {
		t.Errorf("discarded chunk: %v", err)
	}
}

// Every syncBatch chunks Put makes the written ones durable and visible
// itself, so the pending list stays bounded.
func TestDirStoreSyncBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenDirStore(dir)
	must(t, err)
	for i := range syncBatch + 1 {
		must(t, s.Put(ctx, sumID([]byte{byte(i), byte(i >> 8)}), []byte("x")))
	}
	if final, temp := chunkFiles(t, dir); len(final) != syncBatch || len(temp) != 1 {
		t.Errorf("after %d Puts: %d final, %d temporary; want %d and 1", syncBatch+1, len(final), len(temp), syncBatch)
	}
}

// storeWithOneChunk opens a DirStore in dir holding one synced chunk, the
// id of "a" with stored data data, and returns the store and that id.
func storeWithOneChunk(t *testing.T, dir, data string) (*DirStore, ID) {
	t.Helper()
	s, err := OpenDirStore(dir)
	must(t, err)
	a := sumID([]byte("a"))
	must(t, s.Put(context.Background(), a, []byte(data)))
	must(t, s.Sync(context.Background()))
	return s, a
}
