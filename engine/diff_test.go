package engine

import (
	"context"
	"slices"
	"testing"

	"github.com/lvback/lvback/blockdiff"
)

// compareIndexes counts the newer image's chunks that differ at their
// offset, and the bytes they cover, and reports each maximal run of them
// as a byte range: runs across chunk boundaries are one range, runs split
// by an equal chunk two.
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
	five := index(5*cs, cs, id(1), id(2), id(3), id(4), id(5))
	type r = ByteRange
	tests := []struct {
		name          string
		old, new      *blockdiff.Index
		chunks, bytes int64
		ranges        []ByteRange
	}{
		{"same", base, index(3*cs, cs, id(1), hole, id(3)), 0, 0, nil},
		{"one changed, a hole filled", base, index(3*cs, cs, id(1), id(2), id(4)), 2, 2 * cs, []r{{cs, 2 * cs}}},
		{"grown", base, index(4*cs+100, cs, id(1), hole, id(3), id(5), id(6)), 2, cs + 100, []r{{3 * cs, cs + 100}}},
		{"shrunk, last chunk shorter", base, index(2*cs+100, cs, id(1), hole, id(3)), 1, 100, []r{{2 * cs, 100}}},
		{"shrunk at a chunk boundary", base, index(2*cs, cs, id(1), hole), 0, 0, nil},
		{"other chunk size", base, index(3*cs, 3*cs, id(1)), 1, 3 * cs, []r{{0, 3 * cs}}},
		{"two runs", five, index(5*cs, cs, id(9), id(9), id(3), id(9), id(5)), 3, 3 * cs, []r{{0, 2 * cs}, {3 * cs, cs}}},
		{"first and last", five, index(5*cs, cs, id(9), id(2), id(3), id(4), id(9)), 2, 2 * cs, []r{{0, cs}, {4 * cs, cs}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ranges []ByteRange
			d, err := compareIndexes(context.Background(), tt.old, tt.new, func(r ByteRange) error {
				ranges = append(ranges, r)
				return nil
			})
			if err != nil || int64(d.chunks) != tt.chunks || d.bytes != tt.bytes {
				t.Errorf("got %+v, %v; want %d chunks, %d bytes", d, err, tt.chunks, tt.bytes)
			}
			if !slices.Equal(ranges, tt.ranges) {
				t.Errorf("ranges %+v, want %+v", ranges, tt.ranges)
			}
		})
	}
}
