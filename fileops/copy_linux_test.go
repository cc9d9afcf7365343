package fileops

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/zeebo/blake3"
)

// extent is data written at an offset of a test source file.
type extent struct {
	off int64
	n   int
}

// copyCases are the source files CopyFile and HashFile are tested on: size
// bytes, zero except for the extents (random data), created by Truncate and
// WriteAt so that everything else is a hole.
var copyCases = []struct {
	name    string
	size    int64
	extents []extent
	sparse  bool // the copy must allocate little more than the data
}{
	{name: "empty"},
	{name: "small", size: 11, extents: []extent{{0, 11}}},
	{name: "10 MiB random", size: 10 << 20, extents: []extent{{0, 10 << 20}}},
	{name: "sparse 1 GiB", size: 1 << 30, sparse: true, extents: []extent{
		{0, 4096}, {300<<20 + 123, 10000}, {700 << 20, 3 << 20}, {1<<30 - 1000, 1000},
	}},
	{name: "leading and trailing holes", size: 5 << 20, sparse: true, extents: []extent{{2 << 20, 100}}},
	{name: "only a hole", size: 3 << 20, sparse: true},
}

// makeSource creates the file at path with size bytes and the given extents
// of random data, and returns the number of data bytes.
func makeSource(t *testing.T, path string, size int64, extents []extent) int64 {
	t.Helper()
	truncateFile(t, path, size)
	var data int64
	for i, e := range extents {
		writeAt(t, path, e.off, randomBytes(uint64(i+1), e.n))
		data += int64(e.n)
	}
	return data
}

func TestCopyFile(t *testing.T) {
	for _, tc := range copyCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			srcPath, dstPath := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			data := makeSource(t, srcPath, tc.size, tc.extents)

			hash, written, err := CopyFile(context.Background(), dstPath, openFile(t, srcPath), tc.size)
			if err != nil {
				t.Fatal(err)
			}

			// Oracle: stream the source through an independent hasher while
			// comparing it with the copy.
			want := blake3.New()
			sameContent(t, io.TeeReader(openFile(t, srcPath), want), openFile(t, dstPath))
			if got := want.Sum(nil); string(got) != string(hash[:]) {
				t.Errorf("hash %x, want %x", hash, got)
			}
			if written < data || written > tc.size {
				t.Errorf("written %d bytes; data is %d of %d", written, data, tc.size)
			}
			var st syscall.Stat_t
			if err := syscall.Stat(dstPath, &st); err != nil {
				t.Fatal(err)
			}
			if st.Size != tc.size || st.Mode&0o7777 != 0o600 {
				t.Errorf("copy has size %d mode %o, want %d 600", st.Size, st.Mode&0o7777, tc.size)
			}
			if alloc := st.Blocks * 512; tc.sparse && alloc > data+256<<10 {
				t.Errorf("copy allocates %d bytes for %d bytes of data", alloc, data)
			}

			sum, err := HashFile(context.Background(), openFile(t, srcPath), tc.size)
			if err != nil || sum != hash {
				t.Errorf("HashFile = %x, %v; want %x", sum, err, hash)
			}
		})
	}
}

func TestCopyFileSizeChanged(t *testing.T) {
	for _, tc := range []struct {
		name          string
		actual, lstat int64
		extents       []extent
	}{
		{name: "grown", actual: 2 << 20, lstat: 1 << 20, extents: []extent{{0, 2 << 20}}},
		{name: "grown by a hole", actual: 2 << 20, lstat: 1 << 20, extents: []extent{{0, 1 << 20}}},
		{name: "grown from empty", actual: 10, lstat: 0, extents: []extent{{0, 10}}},
		{name: "shrunk", actual: 1 << 20, lstat: 2 << 20, extents: []extent{{0, 1 << 20}}},
		{name: "shrunk to a hole", actual: 1 << 20, lstat: 2 << 20},
		{name: "shrunk to empty", actual: 0, lstat: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			srcPath, dstPath := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			makeSource(t, srcPath, tc.actual, tc.extents)

			_, _, err := CopyFile(context.Background(), dstPath, openFile(t, srcPath), tc.lstat)
			if !errors.Is(err, ErrSizeChanged) {
				t.Errorf("CopyFile: %v, want ErrSizeChanged", err)
			}
			if _, err := os.Lstat(dstPath); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("dst left behind: %v", err)
			}
			if _, err := HashFile(context.Background(), openFile(t, srcPath), tc.lstat); !errors.Is(err, ErrSizeChanged) {
				t.Errorf("HashFile: %v, want ErrSizeChanged", err)
			}
		})
	}
}

func TestCopyFileKeepsExistingDst(t *testing.T) {
	dir := t.TempDir()
	srcPath, dstPath := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeAt(t, srcPath, 0, []byte("new content"))
	writeAt(t, dstPath, 0, []byte("keep"))

	_, _, err := CopyFile(context.Background(), dstPath, openFile(t, srcPath), 11)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("CopyFile onto an existing file: %v, want ErrExist", err)
	}
	if got := string(readAll(t, dstPath)); got != "keep" {
		t.Errorf("existing dst now holds %q", got)
	}
}
