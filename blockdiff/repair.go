package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
)

// RepairReport says what RepairFromImage did. Problems name the first
// entry that uses each chunk.
type RepairReport struct {
	Checked    int64     // distinct chunks whose stored copy was checked
	Healed     []Problem // stored again from the image; Err says what was wrong with the store's copy
	Unhealable []Problem // missing or damaged, and the image does not hold them; Err says why
}

// RepairFromImage heals the chunks of idx that store lacks or holds
// damaged, from image: a file or block device holding the image idx
// describes (the backed-up volume itself if it has not changed, or a copy
// of it). It reads and decodes every distinct chunk idx references, as
// Verify with readFraction 1 does; for each one missing or damaged it
// reads the image at the offset idx names, checks the bytes against the
// chunk's id, and stores them (Put for a missing chunk, Replace for a
// damaged one). Chunks the image does not hold (it differs there, or is
// too short) are reported as unhealable; so is a chunk whose replacement
// failed to store. It makes what it stored durable (Sync) before it
// returns. The caller holds the repository lock, as for Backup.
//
// Its error is for what stops it: ctx, an unreadable image or index, a
// store error other than a missing chunk. Like Verify, it reads the
// index's entries as it goes and remembers at most verifyMemo chunks.
func RepairFromImage(ctx context.Context, store ChunkStore, idx *Index, image string) (*RepairReport, error) {
	if err := idx.check(); err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	src, err := openSource(image)
	if err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	defer src.close()
	workers := defaultWorkers()
	c, err := newCodec(workers, store)
	if err != nil {
		return nil, err
	}
	defer c.close()
	rr := &repairRun{src: src, store: store, codec: c, chunkSize: idx.ChunkSize,
		seen: make(map[ID]bool), rep: &RepairReport{}}
	g, gctx := errgroup.WithContext(ctx)
	uses := make(chan chunkUse)
	g.Go(func() error {
		defer close(uses)
		return idx.Each(func(i int, e Entry) error {
			if e.Hole() || !rr.first(e.ID) {
				return nil
			}
			off, n := idx.Extent(i)
			select {
			case uses <- chunkUse{chunkKey{e.ID, n, e.Stored}, i, off}:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	for range workers {
		g.Go(func() error {
			var bufs repairBufs
			for u := range uses {
				if err := rr.repair(gctx, &bufs, u); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err = g.Wait()
	if err == nil {
		err = store.Sync(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("repair from %s: %w", image, err)
	}
	byChunk := func(a, b Problem) int { return a.Chunk - b.Chunk }
	slices.SortFunc(rr.rep.Healed, byChunk)
	slices.SortFunc(rr.rep.Unhealable, byChunk)
	return rr.rep, nil
}

// repairRun is one RepairFromImage's state shared by its workers.
type repairRun struct {
	src       *source
	store     ChunkStore
	codec     *codec
	chunkSize int

	mu   sync.Mutex  // guards seen and rep
	seen map[ID]bool // chunks handed to a worker; cleared when full
	rep  *RepairReport
}

// repairBufs are one worker's buffers, allocated on first use.
type repairBufs struct{ raw, stored []byte }

// first reports whether id is new to the run, and marks it seen. Called
// by the producer only.
func (rr *repairRun) first(id ID) bool {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.seen[id] {
		return false
	}
	if len(rr.seen) >= verifyMemo {
		clear(rr.seen)
	}
	rr.seen[id] = true
	return true
}

// repair checks one chunk's stored copy and, when it is missing or
// damaged, stores it again from the image. Safe for concurrent use.
func (rr *repairRun) repair(ctx context.Context, b *repairBufs, u chunkUse) error {
	if b.raw == nil {
		b.raw = alignedBuffer(rr.chunkSize)
	}
	err := checkChunk(ctx, rr.store, rr.codec, b.raw, u.key, true)
	rr.mu.Lock()
	rr.rep.Checked++
	rr.mu.Unlock()
	replace := errors.Is(err, ErrCorruptChunk)
	if err == nil || (!replace && !errors.Is(err, ErrNotFound)) {
		return err // fine, or a store error (ctx's included)
	}
	p := Problem{Chunk: u.chunk, Offset: u.off, ID: u.key.id, Err: err}
	raw := b.raw[:u.key.n]
	if err := rr.src.read(raw, u.off); err != nil {
		return rr.report(p, fmt.Errorf("%w; the image cannot give it back: %v", p.Err, err), false)
	}
	if rr.codec.id(raw) != u.key.id {
		return rr.report(p, fmt.Errorf("%w; the image holds other data there", p.Err), false)
	}
	b.stored = rr.codec.encode(b.stored, raw)
	put := rr.store.Put
	if replace {
		put = rr.store.Replace
	}
	if err := put(ctx, u.key.id, b.stored); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return rr.report(p, fmt.Errorf("%w; storing it again failed: %v", p.Err, err), false)
	}
	return rr.report(p, p.Err, true)
}

// report records p, with err, as healed or unhealable.
func (rr *repairRun) report(p Problem, err error, healed bool) error {
	p.Err = err
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if healed {
		rr.rep.Healed = append(rr.rep.Healed, p)
	} else {
		rr.rep.Unhealable = append(rr.rep.Unhealable, p)
	}
	return nil
}
