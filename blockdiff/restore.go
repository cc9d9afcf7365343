package blockdiff

import (
	"context"
	"errors"
	"fmt"

	"github.com/zeebo/blake3"
)

// ErrImageMismatch reports a restored image whose BLAKE3 differs from the
// one the index records.
var ErrImageMismatch = errors.New("restored image does not match the backup's image hash")

// RestoreOptions tunes Restore. The zero value is valid: defaults apply.
type RestoreOptions struct {
	// Workers is the number of fetching and decompressing goroutines; 0
	// means GOMAXPROCS.
	Workers int
	// Progress, when set, is called with the byte count of each restored
	// chunk, in image order, from one goroutine at a time.
	Progress func(n int64)
}

// Restore writes the image idx describes to dst, checking every chunk's
// BLAKE3 as it goes and the whole image's BLAKE3 at the end.
//
// A regular file dst (or a new one) is written as a temporary file beside
// it and renamed over dst only when complete, verified and fsynced; holes
// stay holes, so the file is as sparse as the index. A block device dst
// must hold at least idx.Size bytes and must not be mounted or otherwise
// in use (it is opened with O_EXCL); holes are written as zeros and bytes
// past idx.Size are left alone. After a failed restore a device holds a
// partial image. Anything else is refused.
func Restore(ctx context.Context, idx *Index, store ChunkStore, dst string, o RestoreOptions) error {
	if err := idx.check(); err != nil {
		return fmt.Errorf("restore to %s: %w", dst, err)
	}
	if o.Workers < 0 {
		return fmt.Errorf("restore to %s: workers %d: want 0 (default) or more", dst, o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = defaultWorkers()
	}
	t, err := openTarget(dst, idx.Size)
	if err != nil {
		return fmt.Errorf("restore to %s: %w", dst, err)
	}
	defer t.abort()
	r, err := newRestoreRun(idx, store, t, o)
	if err != nil {
		return err
	}
	defer r.codec.close()
	err = ordered{n: len(idx.Entries), workers: o.Workers, window: r.window, work: r.fetch, consume: r.hash}.run(ctx)
	if err == nil && ID(r.image.Sum(nil)) != idx.Hash {
		err = fmt.Errorf("%w (image BLAKE3 %x, backup says %s)", ErrImageMismatch, r.image.Sum(nil), idx.Hash)
	}
	if err == nil {
		err = t.commit()
	}
	if err != nil {
		return fmt.Errorf("restore to %s: %w", dst, err)
	}
	return nil
}

// restoreRun is one Restore's pipeline state; slot i%window belongs to
// whichever stage holds chunk i.
type restoreRun struct {
	idx    *Index
	store  ChunkStore
	t      *target
	codec  *codec
	window int
	mem    [][]byte // per slot: decompression buffer, allocated on first use
	raw    [][]byte // per slot: the chunk's raw bytes, for the image hash
	zeros  []byte
	image  *blake3.Hasher
	o      RestoreOptions
}

func newRestoreRun(idx *Index, store ChunkStore, t *target, o RestoreOptions) (*restoreRun, error) {
	c, err := newCodec(o.Workers)
	if err != nil {
		return nil, err
	}
	window := inflightPerWorker * o.Workers
	return &restoreRun{
		idx: idx, store: store, t: t, codec: c, window: window,
		mem: make([][]byte, window), raw: make([][]byte, window),
		zeros: make([]byte, idx.ChunkSize), image: blake3.New(), o: o,
	}, nil
}

// fetch is the worker stage: it gets, decodes, checks and writes chunk i.
func (r *restoreRun) fetch(ctx context.Context, _, i int) error {
	e, slot := r.idx.Entries[i], i%r.window
	off, n := r.idx.Extent(i)
	if e.Hole() {
		r.raw[slot] = r.zeros[:n]
		if r.t.device {
			return r.t.writeAt(r.zeros[:n], off)
		}
		return nil
	}
	stored, err := r.store.Get(ctx, e.ID)
	if err != nil {
		return Problem{Chunk: i, Offset: off, ID: e.ID, Err: err}
	}
	if r.mem[slot] == nil {
		r.mem[slot] = make([]byte, r.idx.ChunkSize)
	}
	raw, err := r.codec.decode(r.mem[slot], stored, n, e.ID)
	if err != nil {
		return Problem{Chunk: i, Offset: off, ID: e.ID, Err: err}
	}
	r.raw[slot] = raw
	return r.t.writeAt(raw, off)
}

// hash is the consumer: it adds chunk i to the image hash, in order.
func (r *restoreRun) hash(i int) error {
	slot := i % r.window
	_, _ = r.image.Write(r.raw[slot]) // never fails
	if r.o.Progress != nil {
		r.o.Progress(int64(len(r.raw[slot])))
	}
	r.raw[slot] = nil
	return nil
}
