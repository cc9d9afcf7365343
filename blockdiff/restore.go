package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// RestoreOptions tunes Restore. The zero value is valid: defaults apply.
type RestoreOptions struct {
	// Workers is the number of fetching and decompressing goroutines; 0
	// means 2*GOMAXPROCS.
	Workers int
	// Progress, when set, is called with the byte count of each restored
	// chunk, in image order, from one goroutine at a time.
	Progress func(n int64)
}

// Restore writes the image idx describes to dst. Before writing anything
// it checks the index's image hash against its chunk list; then it checks
// every chunk against its id as it goes, so the image written is the one
// the hash names.
//
// A regular file dst (or a new one) is written as a temporary file beside
// it (".NAME.DIGITS.tmp", removed on failure; those of killed restores are
// removed by the next restore to the same name) and renamed over dst only
// when complete, verified and fsynced; holes stay holes, so the file is as
// sparse as the index. A block device dst
// must hold at least idx.Size bytes and must not be mounted or otherwise
// in use (it is opened with O_EXCL); holes are written as zeros and bytes
// past idx.Size are left alone. A device's first chunk (where partition
// tables and file system superblocks live) is zeroed before anything else
// is written and restored last, after an fsync of the rest: a device whose
// restore failed or was killed holds no recognisable partition table or
// file system, never a silently partial one. Anything else is refused.
//
// Restore reads the index's entries as it goes (see Index.Each): its
// memory does not depend on the size of the image.
func Restore(ctx context.Context, idx *Index, store ChunkStore, dst string, o RestoreOptions) error {
	if o.Workers < 0 {
		return fmt.Errorf("restore to %s: workers %d: want 0 (default) or more", dst, o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = defaultWorkers()
	}
	if err := idx.check(); err != nil {
		return fmt.Errorf("restore to %s: %w", dst, err)
	}
	t, err := openTarget(dst, idx.Size)
	if err != nil {
		return fmt.Errorf("restore to %s: %w", dst, err)
	}
	defer t.abort()
	if err := idx.checkList(); err != nil { // before the first write
		return fmt.Errorf("restore to %s: %w", dst, err)
	}
	r, err := newRestoreRun(idx, store, t, o)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.run(ctx); err != nil {
		return fmt.Errorf("restore to %s: %w", dst, err)
	}
	if err := t.commit(); err != nil {
		return fmt.Errorf("restore to %s: %w", dst, err)
	}
	return nil
}

// restoreRun is one Restore's pipeline state; slot i%window belongs to
// whichever stage holds chunk i.
type restoreRun struct {
	idx    *Index
	list   *entryReader // the index's entries, read by the producer
	ents   []Entry      // per slot: the chunk's entry
	store  ChunkStore
	t      *target
	codec  *codec
	window int
	mem    [][]byte // per slot: decompression buffer, allocated on first use
	zeros  []byte   // holes on a device
	first  []byte   // a device's first chunk, written last; nil for a hole
	o      RestoreOptions
}

func newRestoreRun(idx *Index, store ChunkStore, t *target, o RestoreOptions) (*restoreRun, error) {
	list, err := idx.entries(true)
	if err != nil {
		return nil, err
	}
	c, err := newCodec(o.Workers, store)
	if err != nil {
		list.close()
		return nil, err
	}
	window := inflightPerWorker * o.Workers
	r := &restoreRun{
		idx: idx, list: list, ents: make([]Entry, window), store: store, t: t, codec: c, window: window,
		mem: make([][]byte, window), o: o,
	}
	if t.device {
		r.zeros = alignedBuffer(idx.ChunkSize)
	}
	return r, nil
}

// close releases the codec and the index.
func (r *restoreRun) close() {
	r.codec.close()
	r.list.close()
}

// run writes every chunk; on a device the first one last (see Restore),
// and only once the index's entries checked out to its end.
func (r *restoreRun) run(ctx context.Context) error {
	n := r.idx.Len()
	if r.t.device && n > 0 {
		_, n0 := r.idx.Extent(0)
		if err := r.t.writeAt(r.zeros[:n0], 0); err != nil {
			return err
		}
		if err := r.t.sync(); err != nil {
			return err
		}
	}
	err := ordered{n: n, workers: r.o.Workers, window: r.window, produce: r.next, work: r.fetch, consume: r.progress}.run(ctx)
	if err == nil {
		if _, _, err = r.list.next(); errors.Is(err, io.EOF) {
			err = nil // the list ended as it should and matches its hash
		} else if err == nil {
			err = fmt.Errorf("%w: more entries than chunks", ErrCorruptIndex) // cannot happen: next counts
		}
	}
	if err != nil || r.first == nil {
		return err
	}
	if err := r.t.sync(); err != nil { // everything else is on disk first
		return err
	}
	return r.t.writeAt(r.first, 0)
}

// next is the producer: it reads chunk i's entry into its slot.
func (r *restoreRun) next(_ context.Context, i int) error {
	_, e, err := r.list.next()
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: fewer entries than chunks", ErrCorruptIndex) // cannot happen: next counts
	}
	r.ents[i%r.window] = e
	return err
}

// fetch is the worker stage: it gets, decodes, checks and writes chunk i
// (a device's chunk 0 is kept in r.first instead).
func (r *restoreRun) fetch(ctx context.Context, _, i int) error {
	slot := i % r.window
	e := r.ents[slot]
	off, n := r.idx.Extent(i)
	if e.Hole() {
		if r.t.device && i > 0 {
			return r.t.writeAt(r.zeros[:n], off)
		}
		return nil // a file's holes stay holes; a device's chunk 0 is zeroed
	}
	stored, err := r.store.Get(ctx, e.ID)
	if err != nil {
		return Problem{Chunk: i, Offset: off, ID: e.ID, Err: err}
	}
	mem := r.mem[slot]
	if mem == nil {
		mem = alignedBuffer(r.idx.ChunkSize)
		r.mem[slot] = mem
	}
	raw, err := r.codec.decode(mem, stored, n, e.ID)
	if err != nil {
		return Problem{Chunk: i, Offset: off, ID: e.ID, Err: err}
	}
	if &raw[0] != &mem[0] { // a raw chunk, still in stored: align it
		raw = append(mem[:0], raw...)
	}
	if r.t.device && i == 0 {
		r.first = append(alignedBuffer(n)[:0], raw...)
		return nil
	}
	return r.t.writeAt(raw, off)
}

// progress is the consumer: it reports chunk i, in order.
func (r *restoreRun) progress(i int) error {
	if r.o.Progress != nil {
		_, n := r.idx.Extent(i)
		r.o.Progress(int64(n))
	}
	return nil
}
