package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zeebo/blake3"
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
	mem   []byte // chunk-size buffer, allocated on first use
	buf   []byte // the chunk's bytes; nil for a hole the file system reported
	entry Entry
	kind  chunkKind
}

// backupRun is one Backup's pipeline state. The slots are owned by
// whichever stage holds their item; stored is shared by the workers.
type backupRun struct {
	src     *source
	store   ChunkStore
	o       Options
	codec   *codec
	window  int
	slots   []backupSlot
	scratch [][]byte // per worker: the stored form of a chunk
	zeros   []byte   // hashed for holes that were not read
	image   *blake3.Hasher
	entries []Entry
	repeats []int // entries whose stored length is filled in at the end
	stats   Stats

	mu     sync.Mutex    // guards stored
	stored map[ID]uint32 // ids this run stored or found: stored length, 0 while being stored
}

func newBackupRun(s *source, store ChunkStore, o Options) (*backupRun, error) {
	c, err := newCodec(o.Workers)
	if err != nil {
		return nil, err
	}
	window := inflightPerWorker * o.Workers
	n := chunkCount(s.size, o.ChunkSize)
	return &backupRun{
		src: s, store: store, o: o, codec: c, window: window,
		slots:   make([]backupSlot, window),
		scratch: make([][]byte, o.Workers),
		zeros:   make([]byte, o.ChunkSize),
		image:   blake3.New(),
		entries: make([]Entry, 0, n),
		stored:  make(map[ID]uint32),
		stats:   Stats{Size: s.size, Chunks: n},
	}, nil
}

// run backs up every chunk and returns the index.
func (b *backupRun) run(ctx context.Context) (*Index, error) {
	err := ordered{
		n: int(b.stats.Chunks), workers: b.o.Workers, window: b.window,
		produce: b.read, work: b.process, consume: b.record,
	}.run(ctx)
	if err != nil {
		return nil, err
	}
	for _, i := range b.repeats {
		b.entries[i].Stored = b.stored[b.entries[i].ID] // every store finished
	}
	return &Index{Size: b.src.size, ChunkSize: b.o.ChunkSize, Hash: ID(b.image.Sum(nil)), Entries: b.entries}, nil
}

// read is the producer: it reads chunk i into its slot, unless the file
// system reports it as a hole.
func (b *backupRun) read(_ context.Context, i int) error {
	sl := &b.slots[i%b.window]
	off, n := extent(b.src.size, b.o.ChunkSize, i)
	sl.buf = nil
	if hole, err := b.src.hole(off, int64(n)); err != nil || hole {
		return err
	}
	if sl.mem == nil {
		sl.mem = make([]byte, b.o.ChunkSize)
	}
	sl.buf = sl.mem[:n]
	return b.src.read(sl.buf, off)
}

// process is the worker stage: it classifies chunk i and stores it when
// it is new. Worker w owns b.scratch[w].
func (b *backupRun) process(ctx context.Context, w, i int) error {
	sl := &b.slots[i%b.window]
	if sl.buf == nil || isZero(sl.buf) {
		sl.kind, sl.entry = kindHole, Entry{}
		return nil
	}
	id := sumID(sl.buf)
	if !b.claim(id) {
		sl.kind, sl.entry = kindRepeat, Entry{ID: id}
		return nil
	}
	size, err := b.store.Stat(ctx, id)
	switch {
	case err == nil && (size < 2 || size > maxStoredLen):
		return fmt.Errorf("chunk %d: stored chunk %s is %d bytes: damaged (remove it, then back up again)", i, id, size)
	case err == nil:
		sl.kind, sl.entry = kindReused, Entry{ID: id, Stored: uint32(size)}
	case errors.Is(err, ErrNotFound):
		b.scratch[w] = b.codec.encode(b.scratch[w], sl.buf)
		if err := b.store.Put(ctx, id, b.scratch[w]); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		sl.kind, sl.entry = kindNew, Entry{ID: id, Stored: uint32(len(b.scratch[w]))}
	default:
		return fmt.Errorf("chunk %d: %w", i, err)
	}
	b.mu.Lock()
	b.stored[id] = sl.entry.Stored
	b.mu.Unlock()
	return nil
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

// record is the consumer: in image order, it hashes chunk i into the
// image hash, appends its entry and counts it.
func (b *backupRun) record(i int) error {
	sl := &b.slots[i%b.window]
	n := len(sl.buf)
	if sl.buf == nil {
		_, n = extent(b.src.size, b.o.ChunkSize, i)
		_, _ = b.image.Write(b.zeros[:n]) // never fails
	} else {
		_, _ = b.image.Write(sl.buf)
		b.stats.ReadBytes += int64(n)
	}
	b.entries = append(b.entries, sl.entry)
	switch sl.kind {
	case kindHole:
		b.stats.Holes++
	case kindNew:
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
