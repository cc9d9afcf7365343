package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// CopyOptions tunes CopyIndex. The zero value is valid: defaults apply.
type CopyOptions struct {
	// Workers is the number of goroutines that fetch, check and store
	// chunks; 0 means copyWorkers.
	Workers int
	// Progress, when set, is called with the byte count of each finished
	// chunk, in image order, from one goroutine at a time.
	Progress func(n int64)
	// Previous, when set, is an image CopyIndex copied earlier from the
	// same source store to the same target store: its two indexes, which
	// pair each source id with the target id of the same data. A chunk of
	// the image that Previous names is then looked up in the target under
	// its paired id instead of being read to learn it (it matters only
	// when the stores name chunks differently, see KeyedIDs). The caller
	// vouches that To is what CopyIndex wrote for From.
	Previous *CopyPair
	// Damaged lists target chunks whose stored copy is known to be damaged
	// (verify found them): one the image needs is stored again over it
	// (ChunkStore.Replace) and listed in CopyStats.Healed. CopyIndex does
	// not modify it.
	Damaged map[ID]bool
}

// CopyStats counts what one CopyIndex did. Chunks = Holes + NewChunks +
// ReusedChunks.
type CopyStats struct {
	Size         int64 // image size in bytes
	Chunks       int64 // chunks in the index
	Holes        int64 // all-zero chunks: recorded, not stored
	NewChunks    int64 // chunks this copy added to the target store
	StoredBytes  int64 // bytes this copy added to the target store
	ReusedChunks int64 // chunks the target held already, or that repeat an earlier chunk of this image
	ReadChunks   int64 // distinct chunks read from the source store
	ReadBytes    int64 // stored bytes read from the source store
	// Healed lists the target chunks this copy stored again over a
	// damaged copy (in CopyOptions.Damaged, or of a stored length no chunk
	// can have); they count as NewChunks.
	Healed []ID
}

// CopyIndex copies the image idx describes over the chunk store from into
// the chunk store to, and writes the index of the copy atomically and
// durably at indexPath. Holes stay holes. Every chunk the target lacks is
// read from from, decoded and checked against its id (a chunk that does
// not decode to it fails the copy: ErrCorruptChunk), and stored in to as
// it was stored in from (the stored form does not depend on the chunk id
// key) under the id to gives that data (see KeyedIDs): the same id when
// both stores name chunks alike, another one when either has keyed ids.
// When they name chunks alike, chunks the target holds already are not
// read; otherwise only those CopyOptions.Previous pairs are not.
//
// Before writing anything CopyIndex checks idx's image hash against its
// chunk list. The new index's image hash is computed over the target's
// ids: every one of them names data checked against idx's ids, so the two
// indexes describe the same image. The target store is synced (Sync)
// before the index is written; on error no index is written, and the
// chunks stored so far stay, unreferenced, until GC. It reads idx in
// batches of copyBatch entries, asking the target about each batch's
// chunks at once (StatMany), and holds about two chunks per worker: its
// memory does not depend on the size of the image, but for the new
// index's entries. ctx cancels it.
func CopyIndex(ctx context.Context, idx *Index, from, to ChunkStore, indexPath string, o CopyOptions) (*Index, CopyStats, error) {
	if o.Workers < 0 {
		return nil, CopyStats{}, fmt.Errorf("copy: workers %d: want 0 (default) or more", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = copyWorkers
	}
	if err := idx.checkList(); err != nil {
		return nil, CopyStats{}, fmt.Errorf("copy: %w", err)
	}
	c, err := newCodec(o.Workers, from)
	if err != nil {
		return nil, CopyStats{}, err
	}
	defer c.close()
	cr := &copyRun{idx: idx, from: from, to: to, o: o, codec: c, toID: idFunc(to), same: sameIDs(from, to),
		done: make(map[ID]copied), stats: CopyStats{Size: idx.Size, Chunks: int64(idx.Len())}}
	if !cr.same {
		if cr.paired, err = o.Previous.pairs(); err != nil {
			return nil, CopyStats{}, fmt.Errorf("copy: previous copy: %w", err)
		}
	}
	out, err := cr.run(ctx)
	if err == nil {
		err = to.Sync(ctx)
	}
	if err == nil {
		err = WriteIndex(indexPath, out)
	}
	if err != nil {
		return nil, cr.stats, fmt.Errorf("copy: %w", err)
	}
	return out, cr.stats, nil
}

// copied is what the target holds of one source chunk: its entry there,
// and whether this copy stored it (not yet counted as new).
type copied struct {
	e     Entry
	fresh bool
}

// copyRun is one CopyIndex's state; done and the counters are shared by
// the workers.
type copyRun struct {
	idx      *Index
	from, to ChunkStore
	o        CopyOptions
	codec    *codec
	toID     func([]byte) ID // the target's id of raw data
	same     bool            // from and to name chunks alike
	paired   map[ID]ID       // source id -> target id of the same data (CopyOptions.Previous); read-only

	mu    sync.Mutex    // guards done and stats while workers run
	done  map[ID]copied // source chunks resolved so far, by source id
	stats CopyStats
}

// copyItem is one distinct source chunk of a batch that the run has not
// resolved yet.
type copyItem struct {
	src     Entry
	n       int  // raw length
	tid     ID   // its target id, when known without reading it
	asked   bool // the target was asked about tid and lacks it
	replace bool // the target's copy of tid is damaged
}

// run copies every chunk, batch by batch, and returns the new index.
func (cr *copyRun) run(ctx context.Context) (*Index, error) {
	out := &Index{Size: cr.idx.Size, ChunkSize: cr.idx.ChunkSize, Entries: make([]Entry, 0, cr.idx.Len())}
	ih := newImageHasher(cr.idx.Size, cr.idx.ChunkSize)
	batch := make([]Entry, 0, copyBatch)
	flush := func() error {
		first := len(out.Entries)
		if err := cr.resolve(ctx, first, batch); err != nil {
			return err
		}
		for k, e := range batch {
			_, n := cr.idx.Extent(first + k)
			te, err := cr.record(e)
			if err != nil {
				return fmt.Errorf("chunk %d: %w", first+k, err)
			}
			ih.add(te.ID, te.Hole(), n)
			out.Entries = append(out.Entries, te)
			if cr.o.Progress != nil {
				cr.o.Progress(int64(n))
			}
		}
		batch = batch[:0]
		return nil
	}
	err := cr.idx.Each(func(_ int, e Entry) error {
		batch = append(batch, e)
		if len(batch) == copyBatch {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	out.Hash = ih.sum()
	return out, nil
}

// record returns the target entry of source entry e and counts it; the
// first use of a chunk this run stored counts as new, later ones as
// reused.
func (cr *copyRun) record(e Entry) (Entry, error) {
	if e.Hole() {
		cr.stats.Holes++
		return Entry{}, nil
	}
	c, ok := cr.done[e.ID]
	if !ok { // never: resolve resolved every chunk of the batch
		return Entry{}, fmt.Errorf("source chunk %s not copied", e.ID)
	}
	if c.fresh {
		cr.stats.NewChunks++
		cr.stats.StoredBytes += int64(c.e.Stored)
		cr.done[e.ID] = copied{e: c.e}
	} else {
		cr.stats.ReusedChunks++
	}
	return c.e, nil
}

// resolve makes sure the target holds every chunk of batch (entries
// first, first+1, ...): it asks the target about those whose target id
// is known without reading them, then copies the rest with the workers.
func (cr *copyRun) resolve(ctx context.Context, first int, batch []Entry) error {
	var todo []copyItem
	seen := make(map[ID]bool)
	for k, e := range batch {
		if _, ok := cr.done[e.ID]; e.Hole() || ok || seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		_, n := cr.idx.Extent(first + k)
		todo = append(todo, copyItem{src: e, n: n})
	}
	todo, err := cr.lookup(ctx, todo)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	items := make(chan *copyItem)
	g.Go(func() error {
		defer close(items)
		for i := range todo {
			select {
			case items <- &todo[i]:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range min(cr.o.Workers, len(todo)) { // never more workers than work
		g.Go(func() error {
			var buf []byte
			for it := range items {
				if buf == nil {
					buf = make([]byte, cr.idx.ChunkSize)
				}
				if err := cr.copyChunk(ctx, buf, it); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// lookup asks the target at once (StatMany) about the items whose target
// id is known without reading them (the source's, or Previous's pair),
// resolves those it holds whole, and returns the others.
func (cr *copyRun) lookup(ctx context.Context, todo []copyItem) ([]copyItem, error) {
	var ask []int
	var ids []ID
	for k := range todo {
		it := &todo[k]
		tid, ok := it.src.ID, cr.same
		if !ok {
			tid, ok = cr.paired[it.src.ID]
		}
		if !ok {
			continue
		}
		it.tid = tid
		if cr.o.Damaged[tid] {
			it.asked, it.replace = true, true
			continue
		}
		ask = append(ask, k)
		ids = append(ids, tid)
	}
	if len(ids) == 0 {
		return todo, nil
	}
	sizes, err := cr.to.StatMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("ask the target about %d chunks: %w", len(ids), err)
	}
	held := make(map[int]bool, len(ask))
	for j, k := range ask {
		it := &todo[k]
		switch size := sizes[j]; {
		case size < 0:
			it.asked = true
		case !validStored(size):
			it.asked, it.replace = true, true
		default:
			cr.done[it.src.ID] = copied{e: Entry{ID: it.tid, Stored: uint32(size)}}
			held[k] = true
		}
	}
	rest := todo[:0]
	for k, it := range todo {
		if !held[k] {
			rest = append(rest, it)
		}
	}
	return rest, nil
}

// validStored reports whether a stored length is one a chunk can have;
// any other marks the stored copy damaged.
func validStored(size int64) bool { return size >= 2 && size <= maxStoredLen }

// copyChunk reads one source chunk, checks it against its id, and stores
// it in the target under the target's id unless the target holds it
// whole. buf is the calling worker's. Safe for concurrent use.
func (cr *copyRun) copyChunk(ctx context.Context, buf []byte, it *copyItem) error {
	stored, err := cr.from.Get(ctx, it.src.ID)
	if err != nil {
		return fmt.Errorf("read source chunk: %w", err)
	}
	raw, err := cr.codec.decode(buf, stored, it.n, it.src.ID)
	if err != nil {
		return fmt.Errorf("source chunk %s: %w", it.src.ID, err)
	}
	tid := it.src.ID
	if !cr.same {
		tid = cr.toID(raw)
	}
	replace := it.replace || cr.o.Damaged[tid]
	if !replace && (!it.asked || tid != it.tid) {
		size, err := cr.to.Stat(ctx, tid)
		switch {
		case err == nil && validStored(size):
			cr.resolved(it, Entry{ID: tid, Stored: uint32(size)}, int64(len(stored)), false, false)
			return nil
		case err == nil:
			replace = true
		case !errors.Is(err, ErrNotFound):
			return fmt.Errorf("target chunk %s: %w", tid, err)
		}
	}
	put := cr.to.Put
	if replace {
		put = cr.to.Replace
	}
	if err := put(ctx, tid, stored); err != nil {
		return err
	}
	cr.resolved(it, Entry{ID: tid, Stored: uint32(len(stored))}, int64(len(stored)), true, replace)
	return nil
}

// resolved records what the target holds of it's chunk after it was read
// (read bytes of it), and whether this copy stored it, over a damaged
// copy (healed). Safe for concurrent use.
func (cr *copyRun) resolved(it *copyItem, e Entry, read int64, stored, healed bool) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.done[it.src.ID] = copied{e: e, fresh: stored}
	cr.stats.ReadChunks++
	cr.stats.ReadBytes += read
	if healed {
		cr.stats.Healed = append(cr.stats.Healed, e.ID)
	}
}
