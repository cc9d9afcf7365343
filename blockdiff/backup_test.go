package blockdiff

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

const kib = 1 << 10
const mib = 1 << 20

// roundTrip is one case of TestBackupRestoreRoundTrip: an image of size
// bytes with spans, backed up in 64 KiB chunks, and the counts expected.
type roundTrip struct {
	name               string
	size               int64
	spans              []span
	holes, new, reused int64
	rawStored          bool // the data chunks are incompressible: stored raw
	workers            int
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	const cs = 64 * kib
	for _, tc := range []roundTrip{
		{name: "empty", size: 0},
		{name: "one byte", size: 1, spans: []span{{0, 1, "random", 1}}, new: 1, rawStored: true},
		{name: "all holes", size: 4*cs + 100, holes: 5},
		{name: "written zeros are holes", size: 3 * cs, spans: []span{{0, 3 * cs, "zero", 0}}, holes: 3},
		{name: "short last chunk", size: 2*cs + 123, spans: []span{{0, 2*cs + 123, "text", 2}}, new: 3},
		{name: "incompressible", size: 3 * cs, spans: []span{{0, 3 * cs, "random", 3}}, new: 3, rawStored: true},
		{name: "one byte in a hole chunk", size: 3 * cs, spans: []span{{cs + 5, 1, "random", 4}}, holes: 2, new: 1},
		{
			name: "repeated chunks stored once", size: 5 * cs,
			spans: []span{{0, cs, "text", 5}, {2 * cs, cs, "text", 5}, {4 * cs, cs, "text", 5}},
			holes: 2, new: 1, reused: 2,
		},
		{name: "one worker", size: 9*cs + 1, spans: []span{{0, 9*cs + 1, "text", 6}}, new: 10, workers: 1},
	} {
		t.Run(tc.name, tc.run)
	}
}

// run backs the case's image up, checks the counts, the image hash, the
// stored forms and the index file, and restores it.
func (tc roundTrip) run(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, tc.size, tc.spans...)
	data, err := os.ReadFile(src)
	testsys.Must(t, err)
	store := newMemStore()
	idx, st, err := Backup(context.Background(), src, store, filepath.Join(dir, "index"), Options{ChunkSize: 64 * kib, Workers: tc.workers})
	testsys.Must(t, err)
	checkStats(t, st, idx)
	if st.Holes != tc.holes || st.NewChunks != tc.new || st.ReusedChunks != tc.reused {
		t.Errorf("holes/new/reused = %d/%d/%d, want %d/%d/%d", st.Holes, st.NewChunks, st.ReusedChunks, tc.holes, tc.new, tc.reused)
	}
	if want := refImageHash(data, 64*kib); idx.Hash != want {
		t.Errorf("image hash %s, want %s", idx.Hash, want)
	}
	var stored, compressed int64
	for _, c := range store.chunks {
		stored += int64(len(c))
		if c[0] == flagZstd {
			compressed++
		}
	}
	if stored != st.StoredBytes {
		t.Errorf("StoredBytes = %d, store holds %d", st.StoredBytes, stored)
	}
	if tc.rawStored && (compressed > 0 || stored != st.ReadBytes+st.NewChunks) {
		t.Errorf("incompressible data: %d chunks compressed, %d bytes stored", compressed, stored)
	}
	if !tc.rawStored && tc.new > 0 && (compressed == 0 || stored > st.ReadBytes/2) {
		t.Errorf("compressible data: %d chunks compressed, %d bytes stored for %d read", compressed, stored, st.ReadBytes)
	}
	got, err := ReadIndex(filepath.Join(dir, "index"))
	testsys.Must(t, err)
	if !reflect.DeepEqual(inMemory(t, got), idx) {
		t.Errorf("index read back differs:\n%+v\n%+v", got, idx)
	}
	restoreAndCompare(t, idx, store, src)
}

// restoreAndCompare restores idx to a new file and compares it with want.
func restoreAndCompare(t *testing.T, idx *Index, store ChunkStore, want string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "restored")
	if err := Restore(context.Background(), idx, store, dst, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, dst, want)
	return dst
}

func TestBackupTwiceStoresNothingNew(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 10*64*kib, span{0, 3 * 64 * kib, "text", 1}, span{5 * 64 * kib, 64 * kib, "random", 2})
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{ChunkSize: 64 * kib}
	_, st1, err := Backup(context.Background(), src, store, filepath.Join(dir, "i1"), o)
	if err != nil {
		t.Fatal(err)
	}
	idx2, st2, err := Backup(context.Background(), src, store, filepath.Join(dir, "i2"), o)
	if err != nil {
		t.Fatal(err)
	}
	if st1.NewChunks != 4 || st2.NewChunks != 0 || st2.StoredBytes != 0 || st2.ReusedChunks != 4 {
		t.Errorf("first run %+v, second run %+v: want 4 new then 4 reused", st1, st2)
	}
	// The reused entries carry the stored lengths of the first run.
	idx1, err := ReadIndex(filepath.Join(dir, "i1"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(inMemory(t, idx1), idx2) {
		t.Errorf("indexes of the same image differ")
	}
}

// With the previous index given, a backup asks the store only about
// chunks that index does not list, and records the same index as when it
// asks about all of them.
func TestBackupWithPrevious(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 10*64*kib, span{0, 8 * 64 * kib, "random", 1})
	store := newMemStore()
	o := Options{ChunkSize: 64 * kib}
	prev, _, err := Backup(ctx, src, store, filepath.Join(dir, "i1"), o)
	testsys.Must(t, err)
	writeImage(t, src, 10*64*kib, span{0, 8 * 64 * kib, "random", 1}, span{2 * 64 * kib, 2 * 64 * kib, "text", 2})
	asked := store.stats
	o.Previous = prev
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "i2"), o)
	testsys.Must(t, err)
	if n := store.stats - asked; n != 2 || st.NewChunks != 2 || st.ReusedChunks != 6 {
		t.Errorf("store asked about %d chunks, stats %+v; want 2 asked, 2 new, 6 reused", n, st)
	}
	again, _, err := Backup(ctx, src, store, filepath.Join(dir, "i3"), Options{ChunkSize: 64 * kib})
	testsys.Must(t, err)
	if !reflect.DeepEqual(idx, again) {
		t.Error("the index made with Previous differs from the one made without")
	}
	restoreAndCompare(t, idx, store, src)
}

func TestBackupRefuses(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 64*kib, span{0, 100, "text", 1})
	tests := []struct {
		name string
		src  string
		o    Options
	}{
		{"directory", dir, Options{}},
		{"character device", "/dev/null", Options{}},
		{"missing", filepath.Join(dir, "nope"), Options{}},
		{"chunk size not a multiple of 4096", src, Options{ChunkSize: 64*kib + 1}},
		{"chunk size too small", src, Options{ChunkSize: 4 * kib}},
		{"chunk size too large", src, Options{ChunkSize: 2 * MaxChunkSize}},
		{"negative workers", src, Options{Workers: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			index := filepath.Join(t.TempDir(), "index")
			if tc.src != src {
				if n, err := SourceSize(tc.src); err == nil {
					t.Errorf("SourceSize(%s) = %d, want an error", tc.src, n)
				}
			}
			if _, _, err := Backup(context.Background(), tc.src, newMemStore(), index, tc.o); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(index); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("index written: %v", err)
			}
		})
	}
}

func TestBackupFailureWritesNoIndex(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 40*64*kib, span{0, 40 * 64 * kib, "text", 1})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		store *memStore
		want  error
	}{
		{"store fails", context.Background(), &memStore{chunks: map[ID][]byte{}, failPut: 7}, errInjected},
		{"canceled", canceled, newMemStore(), context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			index := filepath.Join(t.TempDir(), "index")
			_, _, err := Backup(tc.ctx, src, tc.store, index, Options{ChunkSize: 64 * kib})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if _, err := os.Stat(index); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("index written: %v", err)
			}
			if tc.store.syncs != 0 {
				t.Errorf("store synced after a failure")
			}
		})
	}
}

func TestBackupProgress(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	size := int64(5*64*kib + 77)
	writeImage(t, src, size, span{64 * kib, 64 * kib, "text", 1})
	var calls []int64
	_, _, err := Backup(context.Background(), src, newMemStore(), filepath.Join(dir, "index"),
		Options{ChunkSize: 64 * kib, Progress: func(n int64) { calls = append(calls, n) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{64 * kib, 64 * kib, 64 * kib, 64 * kib, 64 * kib, 77}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("progress calls %v, want %v", calls, want)
	}
}

func TestDefaultChunkSizeFor(t *testing.T) {
	for _, tc := range []struct {
		size int64
		want int
	}{
		{0, DefaultChunkSize},
		{int64(maxChunks) * DefaultChunkSize, DefaultChunkSize},
		{int64(maxChunks)*DefaultChunkSize + 1, 2 * DefaultChunkSize},
		{int64(maxChunks) * MaxChunkSize * 2, MaxChunkSize}, // too large for any: Backup refuses it
	} {
		if got := defaultChunkSizeFor(tc.size); got != tc.want {
			t.Errorf("defaultChunkSizeFor(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
}
