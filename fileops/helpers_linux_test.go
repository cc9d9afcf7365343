package fileops

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/lvback/lvback/internal/testtree"
)

// runsUnprivileged reports whether the calling test should run its body in
// this process; as root it reruns the test as uid 65534 (testtree.Unprivileged).
func runsUnprivileged(t *testing.T) bool { return testtree.Unprivileged(t) }

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	var key [32]byte
	key[0] = byte(seed)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// writeAt writes data at off in the file at path, creating it if needed.
func writeAt(t *testing.T, path string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// truncateFile sets the length of the file at path, creating it if needed.
func truncateFile(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readAll returns the content of the file at path.
func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openFile opens path for reading and closes it when t ends.
func openFile(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sameContent reads a and b in step and fails t at the first difference.
func sameContent(t *testing.T, a, b io.Reader) {
	t.Helper()
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := 0; ; off += len(bufA) {
		na, errA := io.ReadFull(a, bufA)
		nb, errB := io.ReadFull(b, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			t.Fatalf("content differs in the 1 MiB block at offset %d (%d vs %d bytes read)", off, na, nb)
		}
		if errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF) {
			return // b ended at the same offset: na == nb < len(bufB)
		}
		if errA != nil || errB != nil {
			t.Fatalf("read: %v, %v", errA, errB)
		}
	}
}
