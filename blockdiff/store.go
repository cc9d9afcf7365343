package blockdiff

import (
	"context"
	"errors"
)

// ErrNotFound reports a chunk the store does not hold. Errors of Get and
// Stat for a missing chunk wrap it.
var ErrNotFound = errors.New("chunk not found")

// ChunkStore holds stored chunks by id. It treats the data as opaque: the
// caller (Backup) encodes and checks it. Implementations must be safe for
// concurrent use by several goroutines. It is small so that an object
// store (S3 and the like) can implement it.
type ChunkStore interface {
	// Put stores data under id unless the store holds id already, in which
	// case it leaves the stored data untouched and returns nil: a chunk is
	// never rewritten. A chunk is never visible under id half-written. It
	// may become durable, and visible to Get, Stat and List, only at the
	// next Sync. Put does not keep data.
	Put(ctx context.Context, id ID, data []byte) error
	// Replace is Put for a chunk whose stored copy is damaged: it stores
	// data under id even when the store holds id already, replacing the
	// stored data atomically (the old copy stays whole until the new one
	// is, and then is gone). It may become durable and visible only at
	// the next Sync; until then Get returns the old copy.
	Replace(ctx context.Context, id ID, data []byte) error
	// Get returns the data stored under id, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, id ID) ([]byte, error)
	// Stat returns the length of the data stored under id, or an error
	// wrapping ErrNotFound. (It replaces a plain Has so that Backup can
	// record the stored length of chunks it reuses.)
	Stat(ctx context.Context, id ID) (int64, error)
	// StatMany returns the stored length of each of ids, -1 for one the
	// store does not hold: what Stat says of each, asked concurrently or
	// in batches, so that checking a whole index's chunks costs far less
	// than reading them. Any error other than a missing chunk fails it.
	StatMany(ctx context.Context, ids []ID) ([]int64, error)
	// List calls fn with every id the store holds, in no particular order;
	// it stops at fn's first error and returns it.
	List(ctx context.Context, fn func(ID) error) error
	// Delete removes id; deleting a missing id is not an error.
	Delete(ctx context.Context, id ID) error
	// Sync makes every Put that returned nil so far durable. Backup calls
	// it before writing the index that references the chunks.
	Sync(ctx context.Context) error
}
