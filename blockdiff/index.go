package blockdiff

import (
	"errors"
	"fmt"
)

// ErrCorruptIndex reports an index that is truncated, damaged,
// inconsistent or not an index at all. Every decoding error wraps it;
// I/O errors of the underlying reader do not.
var ErrCorruptIndex = errors.New("corrupt block index")

// Index describes one block backup: what Backup wrote and Restore reads.
// Chunk i covers bytes [i*ChunkSize, min(Size, (i+1)*ChunkSize)) of the
// image, so there are exactly ceil(Size/ChunkSize) entries.
type Index struct {
	Size      int64 // image size in bytes
	ChunkSize int   // bytes per chunk; the last chunk may be shorter
	Hash      ID    // image hash: BLAKE3 over the chunk ids (see imageHasher)
	// Entries holds one entry per chunk, in image order, for an index
	// built in memory (by Backup, or by hand). It is nil for an index
	// read by ReadIndex or DecodeIndex, which is streamed from its stored
	// form: use Each, which serves both.
	Entries []Entry

	src indexSource // the stored form of a read index; nil: Entries
}

// Entry is one chunk of an image: a hole (all zero bytes, not stored) or
// the id of the stored chunk and its stored length.
type Entry struct {
	ID     ID     // zero for a hole
	Stored uint32 // bytes the store holds for ID (flag byte included); 0 for a hole
}

// Hole reports whether the chunk is all zero bytes and not stored.
func (e Entry) Hole() bool { return e.Stored == 0 }

// Extent returns the image offset and length of chunk i.
func (idx *Index) Extent(i int) (off int64, n int) { return extent(idx.Size, idx.ChunkSize, i) }

// extent returns the offset and length of chunk i of an image of size.
func extent(size int64, chunkSize, i int) (off int64, n int) {
	off = int64(i) * int64(chunkSize)
	return off, int(min(int64(chunkSize), size-off))
}

// chunkCount returns how many chunks of chunkSize an image of size has.
func chunkCount(size int64, chunkSize int) int64 {
	return (size + int64(chunkSize) - 1) / int64(chunkSize)
}

// CheckChunkSize reports a chunk size block mode cannot use: it must be a
// multiple of 4096 from MinChunkSize to MaxChunkSize.
func CheckChunkSize(n int) error {
	if n < MinChunkSize || n > MaxChunkSize || n%chunkAlign != 0 {
		return fmt.Errorf("chunk size %d: want a multiple of %d from %d to %d", n, chunkAlign, MinChunkSize, MaxChunkSize)
	}
	return nil
}

// checkShape reports an image size and chunk size an index may not have.
func checkShape(size int64, chunkSize int) error {
	if err := CheckChunkSize(chunkSize); err != nil {
		return err
	}
	if size < 0 || size > maxImageSize || chunkCount(size, chunkSize) > maxChunks {
		return fmt.Errorf("image size %d with %d-byte chunks: too large (at most %d chunks)", size, chunkSize, maxChunks)
	}
	return nil
}

// check reports an index that Encode would not write: a bad shape, the
// wrong number of entries, a hole with an id, a stored length that cannot
// hold its chunk. The entries of a read index are checked as they are
// read (see Each).
func (idx *Index) check() error {
	if err := checkShape(idx.Size, idx.ChunkSize); err != nil {
		return err
	}
	if idx.src != nil {
		return nil
	}
	if want := chunkCount(idx.Size, idx.ChunkSize); int64(len(idx.Entries)) != want {
		return fmt.Errorf("%d entries for %d chunks", len(idx.Entries), want)
	}
	for i, e := range idx.Entries {
		if err := checkEntry(e); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
	}
	return nil
}

// checkEntry reports an entry no index may hold.
func checkEntry(e Entry) error {
	switch {
	case e.Hole() && e.ID != (ID{}):
		return errors.New("hole with a chunk id")
	case e.Stored > maxStoredLen:
		return fmt.Errorf("stored length %d above %d", e.Stored, maxStoredLen)
	case !e.Hole() && e.Stored < 2:
		return fmt.Errorf("stored length %d: too short for any chunk", e.Stored)
	}
	return nil
}
