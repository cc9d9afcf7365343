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

	"github.com/lvback/lvback/internal/testsys"
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
	testsys.Must(t, s.Put(ctx, a, []byte("stored a")))
	// Written, not yet durable: only a temporary file, invisible.
	final, temp := chunkFiles(t, dir)
	if len(final) != 0 || len(temp) != 1 {
		t.Errorf("after Put: final %v, temp %v; want one temporary file", final, temp)
	}
	if _, err := s.Stat(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat before Sync: %v", err)
	}
	testsys.Must(t, s.Sync(ctx))
	final, temp = chunkFiles(t, dir)
	if want := filepath.Join(dir, a.String()[:2], a.String()); !slices.Equal(final, []string{want}) || len(temp) != 0 {
		t.Errorf("after Sync: final %v, temp %v; want %s", final, temp, want)
	}
	if n, err := s.Stat(ctx, a); err != nil || n != 8 {
		t.Errorf("Stat = %d, %v", n, err)
	}
	// Never rewritten.
	testsys.Must(t, s.Put(ctx, a, []byte("other")))
	testsys.Must(t, s.Put(ctx, b, []byte("stored b")))
	testsys.Must(t, s.Put(ctx, b, []byte("other b")))
	testsys.Must(t, s.Sync(ctx))
	for id, want := range map[ID]string{a: "stored a", b: "stored b"} {
		if got, err := s.Get(ctx, id); err != nil || string(got) != want {
			t.Errorf("Get %s = %q, %v; want %q", id, got, err, want)
		}
	}
	if ids := listIDs(t, s); !slices.Equal(ids, sortedIDs(a, b)) {
		t.Errorf("List = %v", ids)
	}
	testsys.Must(t, s.Delete(ctx, a))
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
		testsys.Must(t, os.WriteFile(filepath.Join(sub, name), []byte("junk"), 0o600))
	}
	testsys.Must(t, os.Mkdir(filepath.Join(dir, "zz"), 0o700))
	if ids := listIDs(t, s); !slices.Equal(ids, []ID{a}) {
		t.Errorf("List = %v, want only %s", ids, a)
	}
	// A file too large to be a chunk is refused, not read.
	big := sumID([]byte("big"))
	testsys.Must(t, os.MkdirAll(filepath.Join(dir, big.String()[:2]), 0o700))
	testsys.Must(t, os.WriteFile(s.path(big), nil, 0o600))
	testsys.Must(t, os.Truncate(s.path(big), maxStoredLen+1))
	if _, err := s.Get(ctx, big); err == nil {
		t.Error("Get read an oversized chunk file")
	}
}

func TestDirStoreRemoveTemp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, a := storeWithOneChunk(t, dir, "x")
	stale := filepath.Join(dir, a.String()[:2], "."+a.String()+".999.tmp")
	testsys.Must(t, os.WriteFile(stale, []byte("half"), 0o600))
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
	testsys.Must(t, s.Sync(ctx))
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
	testsys.Must(t, s.List(context.Background(), func(id ID) error { ids = append(ids, id); return nil }))
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

func sortedIDs(ids ...ID) []ID {
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// Discard removes what Put wrote since the last Sync, and nothing else.
func TestDirStoreDiscard(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenDirStore(dir)
	testsys.Must(t, err)
	a, b := sumID([]byte("a")), sumID([]byte("b"))
	testsys.Must(t, s.Put(ctx, a, []byte("kept")))
	testsys.Must(t, s.Sync(ctx))
	testsys.Must(t, s.Put(ctx, b, []byte("dropped")))
	s.Discard()
	testsys.Must(t, s.Sync(ctx))
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
	testsys.Must(t, err)
	for i := range syncBatch + 1 {
		testsys.Must(t, s.Put(ctx, sumID([]byte{byte(i), byte(i >> 8)}), []byte("x")))
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
	testsys.Must(t, err)
	a := sumID([]byte("a"))
	testsys.Must(t, s.Put(context.Background(), a, []byte(data)))
	testsys.Must(t, s.Sync(context.Background()))
	return s, a
}
