package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// chunkKind is what a backup found a chunk to be.
type chunkKind uint8

const (
	kindHole   chunkKind = iota // all zeros
	kindNew                     // stored by this run
	kindReused                  // the store had it
	kindRepeat                  // another chunk of this image has the same id
)

// backupSlot is the state of one chunk in flight.
type backupSlot struct {
	mem     []byte // chunk-size aligned buffer, allocated on first use
	buf     []byte // the chunk's bytes; nil for a hole the file system reported
	entry   Entry
	kind    chunkKind
	replace bool // a new chunk replaces a damaged copy
	carried bool // entry comes from Options.Previous, unread (Options.Unchanged)
}

// backupRun is one Backup's pipeline state. The slots are owned by
// whichever stage holds their item; stored is shared by the workers.
//
// Workers hand each new chunk's stored form to a pool of writers (puts)
// and go on: a Put waits for the disk (and every syncBatch chunks for a
// syncfs), and a worker waiting there would leave its CPU idle. Stored
// forms live in a fixed set of buffers (free) that bounds the writes in
// flight.
type backupRun struct {
	src     *source
	store   ChunkStore
	o       Options
	codec   *codec
	window  int
	slots   []backupSlot
	free    chan []byte // stored-form buffers not in use
	puts    chan putJob // chunks waiting for a writer
	image   *imageHasher
	entries []Entry
	repeats []int // entries whose stored length is filled in at the end
	stats   Stats

	known   map[ID]uint32 // ids of Options.Previous the store holds whole, with their stored lengths; read-only
	prev    []Entry       // Options.Previous's entries, when Options.Unchanged is set; read-only
	replace map[ID]bool   // ids whose stored copy is damaged: Options.Damaged and more; read-only

	mu     sync.Mutex    // guards stored
	stored map[ID]uint32 // ids this run stored or found: stored length, 0 while being stored
}

func newBackupRun(s *source, store ChunkStore, o Options) (*backupRun, error) {
	c, err := newCodec(o.Workers, store)
	if err != nil {
		return nil, err
	}
	window := inflightPerWorker * o.Workers
	n := chunkCount(s.size, o.ChunkSize)
	buffers := o.Workers + 2*chunkWriters
	b := &backupRun{
		src: s, store: store, o: o, codec: c, window: window,
		slots:   make([]backupSlot, window),
		free:    make(chan []byte, buffers),
		puts:    make(chan putJob, chunkWriters),
		image:   newImageHasher(s.size, o.ChunkSize),
		entries: make([]Entry, 0, n),
		stored:  make(map[ID]uint32),
		stats:   Stats{Size: s.size, Chunks: n},
	}
	for range buffers {
		b.free <- nil // allocated on first use
	}
	if err := b.checkPrevious(context.Background()); err != nil {
		c.close()
		return nil, err
	}
	return b, nil
}

// checkPrevious fills in known and replace: it asks the store about every
// chunk of Options.Previous at once and keeps as known those it holds with
// the stored length Previous records; one it holds with another length is
// damaged, like those in Options.Damaged.
func (b *backupRun) checkPrevious(ctx context.Context) error {
	b.replace = make(map[ID]bool, len(b.o.Damaged))
	for id := range b.o.Damaged {
		b.replace[id] = true
	}
	prev := b.o.Previous
	if prev == nil {
		return nil
	}
	want := make(map[ID]uint32)
	if b.o.Unchanged != nil {
		b.prev = make([]Entry, 0, b.stats.Chunks)
	}
	err := prev.Each(func(_ int, e Entry) error {
		if b.o.Unchanged != nil {
			b.prev = append(b.prev, e)
		}
		if !e.Hole() {
			want[e.ID] = e.Stored
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("previous index: %w", err)
	}
	ids := make([]ID, 0, len(want))
	for id := range want {
		if !b.replace[id] {
			ids = append(ids, id)
		}
	}
	sizes, err := b.store.StatMany(ctx, ids)
	if err != nil {
		return fmt.Errorf("check the chunks of the previous index: %w", err)
	}
	b.known = make(map[ID]uint32, len(ids))
	for i, id := range ids {
		switch {
		case sizes[i] == int64(want[id]):
			b.known[id] = want[id]
		case sizes[i] >= 0:
			b.replace[id] = true // a chunk is never rewritten: its length changed by damage
		}
	}
	return nil
}

// putJob is a new chunk for a writer: its id, stored form, and number.
type putJob struct {
	id      ID
	data    []byte
	chunk   int
	replace bool // the store's copy is damaged: Replace it
}

// run backs up every chunk and returns the index once every chunk it
// stored is durable.
func (b *backupRun) run(ctx context.Context) (*Index, error) {
	g, ctx := errgroup.WithContext(ctx)
	for range chunkWriters {
		g.Go(func() error { return b.write(ctx) })
	}
	g.Go(func() error {
		defer close(b.puts)
		return ordered{
			n: int(b.stats.Chunks), workers: b.o.Workers, window: b.window,
			produce: b.plan, work: b.process, consume: b.record,
		}.run(ctx)
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, i := range b.repeats {
		b.entries[i].Stored = b.stored[b.entries[i].ID] // every store finished
	}
	return &Index{Size: b.src.size, ChunkSize: b.o.ChunkSize, Hash: b.image.sum(), Entries: b.entries}, nil
}

// plan is the producer: in image order, it asks the file system whether
// chunk i is a hole (a question that must come in order) and otherwise
// gives its slot a buffer for the worker to read into. The reads happen
// in the workers, so that several are in flight at once.
func (b *backupRun) plan(_ context.Context, i int) error {
	sl := &b.slots[i%b.window]
	off, n := extent(b.src.size, b.o.ChunkSize, i)
	sl.buf, sl.carried = nil, false
	if e, ok := b.carry(i); ok {
		sl.carried, sl.kind, sl.entry, sl.replace = true, kindReused, e, false
		if e.Hole() {
			sl.kind = kindHole
		}
		return nil
	}
	if hole, err := b.src.hole(off, int64(n)); err != nil || hole {
		return err
	}
	if sl.mem == nil {
		sl.mem = alignedBuffer(b.o.ChunkSize)
	}
	sl.buf = sl.mem[:n]
	return nil
}

// carry returns chunk i's entry in Options.Previous when Options.Unchanged
// says the chunk did not change and the store holds its copy whole (or
// it is a hole): then it need not be read.
func (b *backupRun) carry(i int) (Entry, bool) {
	if b.o.Unchanged == nil || !b.o.Unchanged(i) || i >= len(b.prev) {
		return Entry{}, false
	}
	e := b.prev[i]
	if e.Hole() {
		return e, true
	}
	if stored, ok := b.known[e.ID]; !ok || stored != e.Stored || b.replace[e.ID] {
		return Entry{}, false // lost or damaged: read it, which stores it again
	}
	return e, true
}

// write is a writer: it stores the chunks workers hand it until there
// are no more, and returns their buffers.
func (b *backupRun) write(ctx context.Context) error {
	for j := range b.puts {
		put := b.store.Put
		if j.replace {
			put = b.store.Replace
		}
		err := put(ctx, j.id, j.data)
		b.free <- j.data // never blocks: it has room for every buffer
		if err != nil {
			return fmt.Errorf("chunk %d: %w", j.chunk, err)
		}
	}
	return nil
}

// process is the worker stage: it reads chunk i, classifies it and, when
// it is new, compresses it and hands it to a writer.
func (b *backupRun) process(ctx context.Context, _, i int) error {
	sl := &b.slots[i%b.window]
	if sl.carried {
		return nil
	}
	if sl.buf != nil {
		off, _ := extent(b.src.size, b.o.ChunkSize, i)
		if err := b.src.read(sl.buf, off); err != nil {
			return err
		}
	}
	if sl.buf == nil || isZero(sl.buf) {
		sl.kind, sl.entry = kindHole, Entry{}
		return nil
	}
	id := b.codec.id(sl.buf)
	if !b.claim(id) {
		sl.kind, sl.entry = kindRepeat, Entry{ID: id}
		return nil
	}
	stored, reuse, replace, err := b.lookup(ctx, id)
	sl.replace = replace
	if err != nil {
		return fmt.Errorf("chunk %d: %w", i, err)
	}
	if reuse {
		sl.kind, sl.entry = kindReused, Entry{ID: id, Stored: stored}
	} else {
		var buf []byte
		select {
		case buf = <-b.free:
		case <-ctx.Done():
			return ctx.Err()
		}
		buf = b.codec.encode(buf, sl.buf)
		select {
		case b.puts <- putJob{id: id, data: buf, chunk: i, replace: replace}:
		case <-ctx.Done():
			return ctx.Err()
		}
		sl.kind, sl.entry = kindNew, Entry{ID: id, Stored: uint32(len(buf))}
	}
	b.mu.Lock()
	b.stored[id] = sl.entry.Stored
	b.mu.Unlock()
	return nil
}

// lookup decides whether the store's copy of id can be reused (and
// returns its stored length) or id must be stored: because the store
// lacks it, or because its copy is damaged (replace). A stored length no
// chunk can have marks a copy damaged too.
func (b *backupRun) lookup(ctx context.Context, id ID) (stored uint32, reuse, replace bool, err error) {
	if b.replace[id] {
		return 0, false, true, nil
	}
	if stored, ok := b.known[id]; ok {
		return stored, true, false, nil
	}
	size, err := b.store.Stat(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return 0, false, false, nil
	case err != nil:
		return 0, false, false, err
	case size < 2 || size > maxStoredLen:
		return 0, false, true, nil
	}
	return uint32(size), true, false, nil
}

// claim reports whether id is new to this run, and marks it seen.
func (b *backupRun) claim(id ID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, seen := b.stored[id]; seen {
		return false
	}
	b.stored[id] = 0
	return true
}

// record is the consumer: in image order, it adds chunk i to the image
// hash, appends its entry and counts it.
func (b *backupRun) record(i int) error {
	sl := &b.slots[i%b.window]
	_, n := extent(b.src.size, b.o.ChunkSize, i)
	if sl.buf != nil {
		b.stats.ReadBytes += int64(n)
	}
	if sl.carried {
		b.stats.Carried++
	}
	b.image.add(sl.entry.ID, sl.kind == kindHole, n)
	b.entries = append(b.entries, sl.entry)
	switch sl.kind {
	case kindHole:
		b.stats.Holes++
	case kindNew:
		if sl.replace {
			b.stats.Healed = append(b.stats.Healed, sl.entry.ID)
		}
		b.stats.NewChunks++
		b.stats.StoredBytes += int64(sl.entry.Stored)
	case kindReused:
		b.stats.ReusedChunks++
	case kindRepeat:
		b.stats.ReusedChunks++
		b.repeats = append(b.repeats, i)
	}
	if b.o.Progress != nil {
		b.o.Progress(int64(n))
	}
	return nil
}
