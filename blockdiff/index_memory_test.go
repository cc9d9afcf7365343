package blockdiff

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// hugeIndexFile returns an index file of a 1 PiB image cut into 64 MiB
// chunks (2^24 of them), all holes: about 2 KB. Its image hash is forged
// (zero) when forged is set, else the right one.
func hugeIndexFile(forged bool) []byte {
	const size, cs = 1 << 50, MaxChunkSize
	n := int(chunkCount(size, cs))
	hash := make([]byte, 32)
	if !forged {
		ih := newImageHasher(size, cs)
		for range n {
			ih.add(ID{}, true, cs)
		}
		h := ih.sum()
		hash = h[:]
	}
	b := body(int64(size), cs, hash, n)
	b = append(b, make([]byte, n)...) // n holes: one zero byte each
	return rawIndex(b)
}

// hugeIndex writes hugeIndexFile(forged) to a file and returns its path.
func hugeIndex(t *testing.T, forged bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index")
	testsys.Must(t, os.WriteFile(path, hugeIndexFile(forged), 0o600))
	return path
}

// heapAllocated returns the bytes fn allocates on the heap.
func heapAllocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// An index that declares a 1 PiB image costs little memory to read,
// verify, mark and restore, whether its hash is forged (a clear error) or
// right (an honest, empty image).
func TestHugeIndexSmallMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: reads a 1 PiB index of 2^24 entries")
	}
	const limit = 64 << 20
	ctx := context.Background()
	forged := hugeIndex(t, true)
	var err error
	if n := heapAllocated(func() { _, err = ReadIndex(forged) }); n > limit {
		t.Errorf("reading a forged 1 PiB index allocated %d MB", n>>20)
	}
	if err == nil || !strings.Contains(err.Error(), "image hash") {
		t.Errorf("forged 1 PiB index: %v, want an image hash mismatch", err)
	}

	honest := hugeIndex(t, false)
	var idx *Index
	if n := heapAllocated(func() { idx, err = ReadIndex(honest) }); n > limit {
		t.Errorf("reading an honest 1 PiB index allocated %d MB", n>>20)
	}
	testsys.Must(t, err)
	var probs []Problem
	if n := heapAllocated(func() { probs, err = Verify(ctx, idx, newMemStore(), 1) }); n > limit {
		t.Errorf("verifying a 1 PiB index allocated %d MB", n>>20)
	}
	if err != nil || len(probs) != 0 {
		t.Errorf("verify of an empty 1 PiB image: %v %v", err, probs)
	}
	stored := 0
	if n := heapAllocated(func() { err = idx.Chunks(func(ID) error { stored++; return nil }) }); n > limit {
		t.Errorf("marking a 1 PiB index allocated %d MB", n>>20)
	}
	if err != nil || stored != 0 {
		t.Errorf("Chunks of an empty image: %d chunks, %v", stored, err)
	}
	dst := filepath.Join(t.TempDir(), "img")
	if n := heapAllocated(func() { err = Restore(ctx, idx, newMemStore(), dst, RestoreOptions{}) }); n > limit {
		t.Errorf("restoring a 1 PiB index allocated %d MB", n>>20)
	}
	t.Logf("restore of an empty 1 PiB image to a file: %v", err) // refused by most file systems
}
