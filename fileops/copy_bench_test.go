//go:build linux

package fileops

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// benchSize is the source file size of the copy benchmarks.
const benchSize = 64 << 20

// benchSource creates a file of benchSize random bytes, reads it once so it
// is in the page cache, and returns it opened.
func benchSource(b *testing.B) *os.File {
	b.Helper()
	path := filepath.Join(b.TempDir(), "src")
	if err := os.WriteFile(path, randomBytes(1, benchSize), 0o644); err != nil {
		b.Fatal(err)
	}
	f := openFile(b, path)
	if _, err := HashFile(context.Background(), f, benchSize); err != nil {
		b.Fatal(err)
	}
	return f
}

// benchCopies runs copy once per iteration to a new file in a temporary
// directory, removing that file outside the timed section.
func benchCopies(b *testing.B, copy func(dst string, src *os.File)) {
	src := benchSource(b)
	dir := b.TempDir()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		dst := filepath.Join(dir, strconv.Itoa(i))
		copy(dst, src)
		b.StopTimer()
		if err := os.Remove(dst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkCopyFile measures CopyFile: one read pass that hashes and writes.
func BenchmarkCopyFile(b *testing.B) {
	benchCopies(b, func(dst string, src *os.File) {
		if _, _, err := CopyFile(context.Background(), dst, src, benchSize); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCopyFileRangeThenHash measures the alternative: copy_file_range
// for the data (in-kernel copy, or reflink where the file system can), then a
// separate HashFile read of the source.
func BenchmarkCopyFileRangeThenHash(b *testing.B) {
	benchCopies(b, func(dst string, src *os.File) {
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		var roff, woff int64
		for roff < benchSize {
			n, err := unix.CopyFileRange(int(src.Fd()), &roff, int(out.Fd()), &woff, int(benchSize-roff), 0)
			if err != nil || n == 0 {
				b.Fatalf("copy_file_range: %d, %v", n, err)
			}
		}
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := HashFile(context.Background(), src, benchSize); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkReadHashOnly measures HashFile alone: the floor for any copy that
// must hash the data.
func BenchmarkReadHashOnly(b *testing.B) {
	src := benchSource(b)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for b.Loop() {
		if _, err := HashFile(context.Background(), src, benchSize); err != nil {
			b.Fatal(err)
		}
	}
}
