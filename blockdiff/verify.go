package blockdiff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Verify checks that store holds every chunk idx references. It reads and
// decodes a random readFraction of the distinct chunks (1 or more: all of
// them, as for --read-data; 0.05: 5%, as for --read-data-subset 5%) and
// checks that each decodes to its id; of the others it checks only that
// they are present with the stored length the index records. It returns
// one Problem per affected chunk, in image order (a damaged chunk used at
// several offsets is reported at each), and an error only when it could
// not finish (ctx canceled). A damaged index, including an image hash
// that does not match the chunk list, is an error.
//
// Verify reads the index's entries as it goes (see Index.Each) and
// remembers the outcome of at most verifyMemo distinct chunks, so its
// memory does not depend on the size of the image; a chunk used again
// after that many others may be checked again.
func Verify(ctx context.Context, idx *Index, store ChunkStore, readFraction float64) ([]Problem, error) {
	if err := idx.check(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	workers := defaultWorkers()
	c, err := newCodec(workers, store)
	if err != nil {
		return nil, err
	}
	defer c.close()
	v := &verifyRun{chunkSize: idx.ChunkSize, store: store, codec: c, readFraction: readFraction, memo: make(map[chunkKey]error)}
	g, ctx := errgroup.WithContext(ctx)
	uses := make(chan chunkUse)
	g.Go(func() error {
		defer close(uses)
		return idx.Each(func(i int, e Entry) error {
			if e.Hole() {
				return nil
			}
			off, n := idx.Extent(i)
			select {
			case uses <- chunkUse{chunkKey{e.ID, n, e.Stored}, i, off}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	for range workers {
		g.Go(func() error {
			var buf []byte // allocated on first use: an index of holes needs none
			for u := range uses {
				if err := v.check(ctx, &buf, u); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	slices.SortFunc(v.problems, func(a, b Problem) int { return a.Chunk - b.Chunk })
	return v.problems, nil
}

// verifyMemo is how many distinct chunks' outcomes Verify remembers, so
// that a chunk an image uses many times is usually read once: 64K
// entries of about 100 bytes.
const verifyMemo = 1 << 16

// chunkKey is a distinct chunk of an index: its id, raw and stored length.
type chunkKey struct {
	id     ID
	n      int
	stored uint32
}

// chunkUse is one entry of an index that references a stored chunk.
type chunkUse struct {
	key   chunkKey
	chunk int
	off   int64
}

// verifyRun is one Verify's state shared by its workers.
type verifyRun struct {
	chunkSize    int
	store        ChunkStore
	codec        *codec
	readFraction float64

	mu       sync.Mutex         // guards memo and problems
	memo     map[chunkKey]error // outcome of chunks checked; cleared when full
	problems []Problem
}

// check checks one use of a chunk, or recalls the chunk's outcome, and
// records a problem. Its error is ctx's. Safe for concurrent use; buf is
// the calling worker's.
func (v *verifyRun) check(ctx context.Context, buf *[]byte, u chunkUse) error {
	v.mu.Lock()
	err, known := v.memo[u.key]
	v.mu.Unlock()
	if !known {
		if *buf == nil {
			*buf = make([]byte, v.chunkSize)
		}
		read := v.readFraction >= 1 || rand.Float64() < v.readFraction
		err = checkChunk(ctx, v.store, v.codec, *buf, u.key, read)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !known {
		if len(v.memo) >= verifyMemo {
			clear(v.memo)
		}
		v.memo[u.key] = err
	}
	if err != nil {
		v.problems = append(v.problems, Problem{Chunk: u.chunk, Offset: u.off, ID: u.key.id, Err: err})
	}
	return nil
}

// checkChunk checks one chunk: presence and stored length, and when read
// is set, that it decodes to its id.
func checkChunk(ctx context.Context, store ChunkStore, c *codec, buf []byte, k chunkKey, read bool) error {
	if !read {
		size, err := store.Stat(ctx, k.id)
		if err == nil && size != int64(k.stored) {
			err = fmt.Errorf("%w: stored length %d, the index says %d", ErrCorruptChunk, size, k.stored)
		}
		return err
	}
	stored, err := store.Get(ctx, k.id)
	if err != nil {
		return err
	}
	_, err = c.decode(buf, stored, k.n, k.id)
	if err != nil && len(stored) != int(k.stored) {
		err = fmt.Errorf("%w (stored length %d, the index says %d)", err, len(stored), k.stored)
	}
	return err
}
