package blockdiff

import (
	"encoding/binary"
	"fmt"

	"github.com/zeebo/blake3"
)

// imageHashDomain starts every image hash, so that it can never equal the
// id of a chunk or a hash of anything else.
const imageHashDomain = "lvback block image hash v2\x00"

// imageHasher computes an image hash: the BLAKE3-256 of a header (domain,
// image size, chunk size) followed by the id of every chunk in image
// order, a hole contributing the id of its zero bytes. Like BLAKE3 itself
// it is a hash tree: it commits to every byte of the image, yet a backup
// computes it from the chunk ids it needs anyway, at no extra pass over
// the data, and a hole costs one 32-byte write instead of hashing its
// zeros. The same image always gets the same hash, however it was stored.
//
// Why not a flat BLAKE3 of the image: one goroutine must feed it every
// byte in order, and profiling a no-change backup of a 1 GiB image showed
// that stage taking 380 of 610 ms, the cap on the whole pipeline.
type imageHasher struct {
	h         *blake3.Hasher
	chunkSize int
	zero      map[int]ID // id of n zero bytes, by n (at most two lengths)
}

// newImageHasher starts the image hash of an image of size bytes cut into
// chunkSize chunks.
func newImageHasher(size int64, chunkSize int) *imageHasher {
	ih := &imageHasher{h: blake3.New(), chunkSize: chunkSize, zero: make(map[int]ID, 2)}
	head := binary.LittleEndian.AppendUint64([]byte(imageHashDomain), uint64(size))
	head = binary.LittleEndian.AppendUint64(head, uint64(chunkSize))
	_, _ = ih.h.Write(head) // never fails
	return ih
}

// add adds the next chunk to the hash: its id, or for a hole its length.
func (ih *imageHasher) add(id ID, hole bool, n int) {
	if hole {
		z, ok := ih.zero[n]
		if !ok {
			z = sumID(make([]byte, n))
			ih.zero[n] = z
		}
		id = z
	}
	_, _ = ih.h.Write(id[:]) // never fails
}

// sum returns the image hash.
func (ih *imageHasher) sum() ID { return ID(ih.h.Sum(nil)) }

// ImageHash returns the image hash that idx's entries imply (see
// Index.Hash). The entries must be consistent (a decoded index is).
func (idx *Index) ImageHash() ID {
	ih := newImageHasher(idx.Size, idx.ChunkSize)
	for i, e := range idx.Entries {
		_, n := idx.Extent(i)
		ih.add(e.ID, e.Hole(), n)
	}
	return ih.sum()
}

// checkHash reports an index whose recorded image hash differs from what
// its entries imply: a damaged index.
func (idx *Index) checkHash() error {
	if got := idx.ImageHash(); got != idx.Hash {
		return fmt.Errorf("%w: image hash %s does not match its chunk list (%s)", ErrCorruptIndex, idx.Hash, got)
	}
	return nil
}
