package blockdiff

import "fmt"

// Problem is one chunk of an image that cannot be restored: which chunk,
// where in the image, and why. Err wraps ErrNotFound for a missing chunk
// and ErrCorruptChunk for one that does not decode to its id; other
// errors come from the store. Restore's error wraps a Problem when a chunk
// fails (errors.As(err, &p) with p a Problem).
type Problem struct {
	Chunk  int   // index in Index.Entries
	Offset int64 // byte offset of the chunk in the image
	ID     ID    // the chunk's id
	Err    error // what is wrong
}

// Error describes the problem, naming the chunk, its offset and its id.
func (p Problem) Error() string {
	return fmt.Sprintf("chunk %d at offset %d (%s): %v", p.Chunk, p.Offset, p.ID, p.Err)
}

// Unwrap returns Err.
func (p Problem) Unwrap() error { return p.Err }
