package engine

import (
	"context"
	"testing"

	"github.com/lvback/lvback/blockdiff"
)

// compareIndexes counts the newer image's chunks that differ at their
// offset, and the bytes they cover.
func TestCompareIndexes(t *testing.T) {
	const cs = 64 << 10
	id := func(b byte) blockdiff.Entry { return blockdiff.Entry{ID: blockdiff.ID{b}, Stored: 10} }
	hole := blockdiff.Entry{}
	index := func(size int64, chunkSize int, es ...blockdiff.Entry) *blockdiff.Index {
		idx := &blockdiff.Index{Size: size, ChunkSize: chunkSize, Entries: es}
		idx.Hash = idx.ImageHash()
		return idx
	}
	base := index(3*cs, cs, id(1), hole, id(3))
	tests := []struct {
		name          string
		old, new      *blockdiff.Index
		chunks, bytes int64
	}{
		{"same", base, index(3*cs, cs, id(1), hole, id(3)), 0, 0},
		{"one changed, a hole filled", base, index(3*cs, cs, id(1), id(2), id(4)), 2, 2 * cs},
		{"grown", base, index(4*cs+100, cs, id(1), hole, id(3), id(5), id(6)), 2, cs + 100},
		{"shrunk, last chunk shorter", base, index(2*cs+100, cs, id(1), hole, id(3)), 1, 100},
		{"other chunk size", base, index(3*cs, 3*cs, id(1)), 1, 3 * cs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := compareIndexes(context.Background(), tt.old, tt.new)
			if err != nil || int64(d.chunks) != tt.chunks || d.bytes != tt.bytes {
				t.Errorf("got %+v, %v; want %d chunks, %d bytes", d, err, tt.chunks, tt.bytes)
			}
		})
	}
}
