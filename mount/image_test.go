package mount

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/internal/testsys"
)

const testChunk = 64 << 10

// testImageBytes is an image of 40 chunks and a short last one: random
// data, whole zero chunks (stored as holes) and zeros inside data chunks.
func testImageBytes() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 40*testChunk+12345)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, c := range []int{0, 3, 4, 5, 20, 39} { // holes
		clear(data[c*testChunk : (c+1)*testChunk])
	}
	clear(data[7*testChunk+100 : 7*testChunk+5000]) // zeros in a data chunk
	return data
}

func writeTestImage(t *testing.T) (string, []byte) {
	data := testImageBytes()
	img := filepath.Join(t.TempDir(), "disk.img")
	testsys.Must(t, os.WriteFile(img, data, 0o600))
	return img, data
}

// Reads of any size at any offset, through a cache smaller than the
// image, return the original image's bytes; holes read as zeros; reads
// past the end stop there with io.EOF.
func TestImageReadAt(t *testing.T) {
	img, want := writeTestImage(t)
	repoPath, b := blockBackup(t, img, "disk", testChunk)
	im := openTestImage(t, repoPath, b, 4*testChunk)
	if im.Size() != int64(len(want)) {
		t.Fatalf("size %d, want %d", im.Size(), len(want))
	}
	if got, holes := im.DataBytes(), int64(6*testChunk); got != int64(len(want))-holes {
		t.Errorf("DataBytes %d, want %d (6 of 41 chunks are holes)", got, int64(len(want))-holes)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	size := int64(len(want))
	check := func(off int64, n int) {
		t.Helper()
		got := make([]byte, n)
		k, err := im.ReadAt(got, off)
		end := min(off+int64(n), size)
		if wantN := int(end - off); k != wantN || (k < n) != errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, io.EOF)) {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; want %d", n, off, k, err, wantN)
		}
		if !bytes.Equal(got[:k], want[off:end]) {
			t.Fatalf("ReadAt(%d bytes, %d): bytes differ from the image", n, off)
		}
	}
	for range 300 { // 4 KiB aligned, as the kernel reads
		check(rng.Int64N(size/4096)*4096, 4096)
	}
	for range 300 { // odd sizes and offsets, some across chunks and the end
		check(rng.Int64N(size), 1+rng.IntN(3*testChunk))
	}
	check(3*testChunk, 3*testChunk)     // holes only
	check(size-10, 100)                 // past the end
	check(0, len(want))                 // everything at once
	if im.cache.bytes() > 4*testChunk { // the bound holds
		t.Errorf("cache holds %d bytes, bound %d", im.cache.bytes(), 4*testChunk)
	}
	for _, tt := range []struct {
		off, data, hole int64
	}{{0, 1 * testChunk, 0}, {testChunk + 5, testChunk + 5, 3 * testChunk}, {20*testChunk + 1, 21 * testChunk, 20*testChunk + 1},
		{39 * testChunk, 40 * testChunk, 39 * testChunk}, {size - 1, size - 1, size}} {
		if got := im.SeekData(tt.off); got != tt.data {
			t.Errorf("SeekData(%d) = %d, want %d", tt.off, got, tt.data)
		}
		if got := im.SeekHole(tt.off); got != tt.hole {
			t.Errorf("SeekHole(%d) = %d, want %d", tt.off, got, tt.hole)
		}
	}
}

// A chunk whose stored copy is damaged fails exactly the reads that
// touch it, with an error naming it (ErrCorruptChunk, a Problem), every
// time; the chunks around it still read correctly.
func TestImageCorruptChunk(t *testing.T) {
	img, want := writeTestImage(t)
	repoPath, b := blockBackup(t, img, "disk", testChunk)
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	testsys.Must(t, err)
	const bad = 10
	testsys.Must(t, idx.Each(func(i int, e blockdiff.Entry) error {
		if i == bad {
			corruptChunk(t, repoPath, e.ID)
		}
		return nil
	}))
	im := openTestImage(t, repoPath, b, 64<<20)
	for _, tt := range []struct {
		name  string
		off   int64
		n     int
		fails bool
	}{
		{"before", (bad - 1) * testChunk, testChunk, false},
		{"last byte before", bad*testChunk - 1, 1, false},
		{"first byte", bad * testChunk, 1, true},
		{"inside", bad*testChunk + 4096, 4096, true},
		{"across the start", bad*testChunk - 10, 20, true},
		{"across the end", (bad+1)*testChunk - 10, 20, true},
		{"again", bad * testChunk, 1, true},
		{"after", (bad + 1) * testChunk, testChunk, false},
	} {
		got := make([]byte, tt.n)
		_, err := im.ReadAt(got, tt.off)
		var p blockdiff.Problem
		if tt.fails {
			if !errors.Is(err, blockdiff.ErrCorruptChunk) || !errors.As(err, &p) || p.Chunk != bad {
				t.Errorf("%s: err %v, want chunk %d corrupt", tt.name, err, bad)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, want[tt.off:tt.off+int64(tt.n)]) {
			t.Errorf("%s: err %v or bytes differ", tt.name, err)
		}
	}
}

// slowStore counts Gets and makes each take a while, so that concurrent
// readers of one chunk overlap.
type slowStore struct {
	blockdiff.ChunkStore
	gets atomic.Int64
}

func (s *slowStore) Get(ctx context.Context, id blockdiff.ID) ([]byte, error) {
	s.gets.Add(1)
	time.Sleep(20 * time.Millisecond)
	return s.ChunkStore.Get(ctx, id)
}

// Readers of one chunk at the same time (as the kernel's readahead
// threads are) fetch and decode it once; all get the right bytes.
func TestImageConcurrentReadsFetchOnce(t *testing.T) {
	img, want := writeTestImage(t)
	repoPath, b := blockBackup(t, img, "disk", testChunk)
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	testsys.Must(t, err)
	dir, err := blockdiff.OpenDirStore(filepath.Join(repoPath, "chunks"))
	testsys.Must(t, err)
	store := &slowStore{ChunkStore: dir}
	im, err := OpenImage(idx, store, ImageOptions{CacheBytes: 64 << 20})
	testsys.Must(t, err)
	defer im.Close()
	const chunk = 8
	var wg sync.WaitGroup
	for k := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := int64(chunk*testChunk + k*4096)
			got := make([]byte, 4096)
			if _, err := im.ReadAt(got, off); err != nil || !bytes.Equal(got, want[off:off+4096]) {
				t.Errorf("read at %d: %v or bytes differ", off, err)
			}
		}()
	}
	wg.Wait()
	if n := store.gets.Load(); n != 1 {
		t.Errorf("16 concurrent readers of one chunk fetched it %d times, want once", n)
	}
}
