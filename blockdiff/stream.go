package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// WriteImage writes the image idx describes to w, in order, holes as
// zeros: a stream for a pipe (`| ssh host dd of=/dev/vg/lv`). It checks
// what Restore checks: the index's image hash against its chunk list
// before the first byte, and every chunk against its id before it is
// written, so a damaged chunk stops the stream with an error (a Problem)
// right before its bytes. What was written before an error stays written:
// the reader of w must treat a failed WriteImage as a truncated image.
// Chunks are fetched and decoded by o.Workers goroutines; memory does not
// depend on the size of the image.
func WriteImage(ctx context.Context, idx *Index, store ChunkStore, w io.Writer, o RestoreOptions) error {
	if o.Workers < 0 {
		return fmt.Errorf("write image: workers %d: want 0 (default) or more", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = defaultWorkers()
	}
	if err := idx.checkList(); err != nil { // before the first byte
		return fmt.Errorf("write image: %w", err)
	}
	list, err := idx.entries(true)
	if err != nil {
		return err
	}
	defer list.close()
	c, err := newCodec(o.Workers, store)
	if err != nil {
		return err
	}
	defer c.close()
	window := inflightPerWorker * o.Workers
	s := &streamRun{idx: idx, list: list, store: store, codec: c, w: w, o: o, window: window,
		ents: make([]Entry, window), raw: make([][]byte, window), mem: make([][]byte, window)}
	err = ordered{n: idx.Len(), workers: o.Workers, window: window, produce: s.next, work: s.fetch, consume: s.write}.run(ctx)
	if err == nil {
		if _, _, err = list.next(); errors.Is(err, io.EOF) {
			err = nil // the list ended as it should and matches its hash
		} else if err == nil {
			err = fmt.Errorf("%w: more entries than chunks", ErrCorruptIndex)
		}
	}
	if err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	return nil
}

// streamRun is one WriteImage's pipeline state; slot i%window belongs to
// whichever stage holds chunk i.
type streamRun struct {
	idx    *Index
	list   *entryReader
	store  ChunkStore
	codec  *codec
	w      io.Writer
	o      RestoreOptions
	window int
	ents   []Entry  // per slot: the chunk's entry
	raw    [][]byte // per slot: the chunk's checked bytes; nil for a hole
	mem    [][]byte // per slot: decompression buffer, allocated on first use
	zeros  []byte   // holes, allocated on first use
}

// next is the producer: it reads chunk i's entry into its slot.
func (s *streamRun) next(_ context.Context, i int) error {
	_, e, err := s.list.next()
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: fewer entries than chunks", ErrCorruptIndex)
	}
	s.ents[i%s.window] = e
	return err
}

// fetch is the worker stage: it gets, decodes and checks chunk i.
func (s *streamRun) fetch(ctx context.Context, _, i int) error {
	slot := i % s.window
	e := s.ents[slot]
	s.raw[slot] = nil
	if e.Hole() {
		return nil
	}
	off, n := s.idx.Extent(i)
	stored, err := s.store.Get(ctx, e.ID)
	if err != nil {
		return Problem{Chunk: i, Offset: off, ID: e.ID, Err: err}
	}
	if s.mem[slot] == nil {
		s.mem[slot] = make([]byte, s.idx.ChunkSize)
	}
	raw, err := s.codec.decode(s.mem[slot], stored, n, e.ID)
	if err != nil {
		return Problem{Chunk: i, Offset: off, ID: e.ID, Err: err}
	}
	s.raw[slot] = raw
	return nil
}

// write is the consumer: it writes chunk i, in order.
func (s *streamRun) write(i int) error {
	_, n := s.idx.Extent(i)
	b := s.raw[i%s.window]
	if b == nil {
		if s.zeros == nil {
			s.zeros = make([]byte, s.idx.ChunkSize)
		}
		b = s.zeros[:n]
	}
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("write chunk %d: %w", i, err)
	}
	if s.o.Progress != nil {
		s.o.Progress(int64(n))
	}
	return nil
}
