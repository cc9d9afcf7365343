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
func Verify(ctx context.Context, idx *Index, store ChunkStore, readFraction float64) ([]Problem, error) {
	err := idx.check()
	if err == nil {
		err = idx.checkHash()
	}
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	uses := chunkUses(idx)
	workers := defaultWorkers()
	c, err := newCodec(workers)
	if err != nil {
		return nil, err
	}
	defer c.close()
	var (
		mu       sync.Mutex // guards problems
		problems []Problem
	)
	g, ctx := errgroup.WithContext(ctx)
	keys := make(chan chunkKey)
	g.Go(func() error {
		defer close(keys)
		for k := range uses {
			select {
			case keys <- k:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range min(workers, len(uses)) {
		g.Go(func() error {
			buf := make([]byte, idx.ChunkSize)
			for k := range keys {
				read := readFraction >= 1 || rand.Float64() < readFraction
				err := checkChunk(ctx, store, c, buf, k, read)
				if err == nil {
					continue
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				mu.Lock()
				for _, i := range uses[k] {
					off, _ := idx.Extent(i)
					problems = append(problems, Problem{Chunk: i, Offset: off, ID: k.id, Err: err})
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	slices.SortFunc(problems, func(a, b Problem) int { return a.Chunk - b.Chunk })
	return problems, nil
}

// chunkKey is a distinct chunk of an index: its id, raw and stored length.
type chunkKey struct {
	id     ID
	n      int
	stored uint32
}

// chunkUses maps each distinct stored chunk of idx to the entries using it.
func chunkUses(idx *Index) map[chunkKey][]int {
	uses := make(map[chunkKey][]int)
	for i, e := range idx.Entries {
		if !e.Hole() {
			_, n := idx.Extent(i)
			k := chunkKey{e.ID, n, e.Stored}
			uses[k] = append(uses[k], i)
		}
	}
	return uses
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
