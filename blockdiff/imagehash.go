package blockdiff

import (
	"encoding/binary"
	"errors"
	"io"

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
	buf       ID         // what add writes: a field, so that no id escapes to the heap
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
			z = zeroID(n)
			ih.zero[n] = z
		}
		id = z
	}
	ih.buf = id
	_, _ = ih.h.Write(ih.buf[:]) // never fails
}

// sum returns the image hash.
func (ih *imageHasher) sum() ID { return ID(ih.h.Sum(nil)) }

// ImageHash returns the image hash that idx's entries imply (see
// Index.Hash), or the zero ID when they cannot be read.
func (idx *Index) ImageHash() ID {
	r, err := idx.entries(false)
	if err != nil {
		return ID{}
	}
	defer r.close()
	for {
		if _, _, err := r.next(); errors.Is(err, io.EOF) {
			return r.ih.sum()
		} else if err != nil {
			return ID{}
		}
	}
}

// zeroID returns the id of n zero bytes, hashing them from a small buffer:
// a hole of a 64 MiB chunk costs no 64 MiB of memory.
func zeroID(n int) ID {
	var zeros [64 << 10]byte
	h := blake3.New()
	for ; n > 0; n -= min(n, len(zeros)) {
		_, _ = h.Write(zeros[:min(n, len(zeros))]) // never fails
	}
	return ID(h.Sum(nil))
}
