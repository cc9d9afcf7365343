package blockdiff

import (
	"bytes"
	"testing"
)

func TestIsZero(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 63, 64, 65, 1000, 4096} {
		b := make([]byte, n)
		if !isZero(b) {
			t.Errorf("%d zero bytes: not zero", n)
		}
		for i := range n {
			b[i] = 1
			if isZero(b) {
				t.Errorf("%d bytes with byte %d set: zero", n, i)
			}
			b[i] = 0
		}
	}
}

// BenchmarkIsZero compares isZero's word loop with bytes.Equal against a
// zero buffer (assembly) on a zero chunk.
func BenchmarkIsZero(b *testing.B) {
	buf := make([]byte, DefaultChunkSize)
	zeros := make([]byte, DefaultChunkSize)
	b.Run("wordloop", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			if !isZero(buf) {
				b.Fatal("not zero")
			}
		}
	})
	b.Run("bytes.Equal", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			if !bytes.Equal(buf, zeros) {
				b.Fatal("not zero")
			}
		}
	})
}
