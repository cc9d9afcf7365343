package blockdiff

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// TestSparseImage backs up a 1 GiB sparse image holding a few MiB: only
// the data chunks are read and stored, and the restored file is as sparse
// and bit-identical.
func TestSparseImage(t *testing.T) {
	const size = 1 << 30
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "sparse.img")
	writeImage(t, src, size,
		span{0, 3 * mib, "text", 1},                 // chunk 0
		span{500*mib + 4*kib, 1 * mib, "random", 2}, // chunk 125
		span{700 * mib, 4 * mib, "zero", 0},         // chunk 175: allocated, but zeros
		span{size - 2*mib, 2 * mib, "text", 3})      // chunk 255
	if allocated(t, src) > 16*mib {
		t.Skip("the file system of TMPDIR does not keep files sparse")
	}
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	testsys.Must(t, err)
	const cs = 4 * mib
	idx, st, err := Backup(ctx, src, store, filepath.Join(dir, "index"), Options{ChunkSize: cs})
	testsys.Must(t, err)
	checkStats(t, st, idx)
	if st.Chunks != 256 || st.NewChunks != 3 || st.Holes != 253 {
		t.Errorf("stats %+v: want 256 chunks, 3 stored, 253 holes", st)
	}
	// Reading the holes SEEK_DATA reports is skipped: only the four
	// chunks with allocated blocks are read.
	if st.ReadBytes > 4*cs {
		t.Errorf("read %d bytes of a file with 10 MiB allocated", st.ReadBytes)
	}
	dst := restoreAndCompare(t, idx, store, src)
	if a := allocated(t, dst); a > 3*cs {
		t.Errorf("restored file has %d bytes allocated, want at most the 3 data chunks", a)
	}
}

// allocated returns the bytes of disk a file occupies (st_blocks).
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	testsys.Must(t, err)
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// A restore to a file removes the temporary files killed restores to the
// same name left, and only those.
func TestRestoreRemovesStaleTemps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 4*64*kib, span{0, 64 * kib, "text", 1})
	store := newMemStore()
	idx, _, err := Backup(ctx, src, store, filepath.Join(dir, "index"), Options{ChunkSize: 64 * kib})
	testsys.Must(t, err)
	out := filepath.Join(dir, "out")
	testsys.Must(t, os.Mkdir(out, 0o755))
	stale := []string{".disk.img.123456.tmp", ".disk.img.9.tmp"}
	kept := []string{".disk.img.tmp", ".disk.img.12a.tmp", ".other.img.123.tmp", "disk.img.123.tmp", ".disk.img.123.tmp.bak"}
	for _, n := range append(append([]string{}, stale...), kept...) {
		testsys.Must(t, os.WriteFile(filepath.Join(out, n), []byte("x"), 0o600))
	}
	restoreTo := filepath.Join(out, "disk.img")
	testsys.Must(t, Restore(ctx, idx, store, restoreTo, RestoreOptions{}))
	for _, n := range stale {
		if _, err := os.Lstat(filepath.Join(out, n)); err == nil {
			t.Errorf("stale %s is still there", n)
		}
	}
	for _, n := range kept {
		if _, err := os.Lstat(filepath.Join(out, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}
}
