package mount

import (
	"context"

	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/lvback/lvback/blockdiff"
)

// Image reads a block-mode backup's image at any offset: holes read as
// zeros, and each chunk is fetched from the store, decompressed and
// checked against its id on first use, then kept in a bounded LRU cache
// of raw chunks. It is safe for concurrent use.
type Image struct {
	size      int64
	chunkSize int
	entries   []blockdiff.Entry // one per chunk: the index, held in memory for random access
	data      int64             // bytes in stored chunks
	store     blockdiff.ChunkStore
	dec       *blockdiff.Decoder
	cache     *chunkCache
	log       *slog.Logger

	mu       sync.Mutex
	inflight map[int]*fetch // chunks being fetched; mu guards it
}

// fetch is one chunk being read from the store; done closes when raw and
// err are set. Concurrent readers of the chunk wait for it instead of
// decoding it again (the kernel's readahead asks for one chunk's pages
// from several threads at once).
type fetch struct {
	done chan struct{}
	raw  []byte
	err  error
}

var _ io.ReaderAt = (*Image)(nil)

// ImageOptions tune an Image.
type ImageOptions struct {
	// CacheBytes bounds the raw chunk data kept in memory (0: none).
	CacheBytes int64
	// Logger receives one error per failed chunk read; nil discards.
	Logger *slog.Logger
}

// OpenImage reads idx's entries once (36 bytes per chunk stay in memory:
// 18 KiB for a 1 GiB image of 2 MiB chunks) and returns a reader of its
// image over store. A damaged index is an error wrapping
// blockdiff.ErrCorruptIndex. Close releases it.
func OpenImage(idx *blockdiff.Index, store blockdiff.ChunkStore, o ImageOptions) (*Image, error) {
	entries := make([]blockdiff.Entry, 0, idx.Len())
	var data int64
	if err := idx.Each(func(i int, e blockdiff.Entry) error {
		entries = append(entries, e)
		if !e.Hole() {
			_, n := idx.Extent(i)
			data += int64(n)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	dec, err := blockdiff.NewDecoder(decodeWorkers, store)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Image{size: idx.Size, chunkSize: idx.ChunkSize, entries: entries, data: data, store: store,
		dec: dec, cache: newChunkCache(o.CacheBytes), log: log, inflight: map[int]*fetch{}}, nil
}

// Close releases the decoder; the Image must not be read afterwards.
func (im *Image) Close() { im.dec.Close() }

// Size returns the image's size in bytes.
func (im *Image) Size() int64 { return im.size }

// DataBytes returns how many of the image's bytes are in stored chunks
// (not holes): what a sparse copy of the image would allocate.
func (im *Image) DataBytes() int64 { return im.data }

// ReadAt reads len(p) bytes at off, fewer with io.EOF at the image's end.
// A chunk that is missing or does not match its id fails the read with an
// error wrapping a blockdiff.Problem (and ErrCorruptChunk or ErrNotFound);
// reads that do not touch it are unaffected.
func (im *Image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	n := 0
	for n < len(p) && off < im.size {
		i := int(off / int64(im.chunkSize))
		start, size := extent(im.size, im.chunkSize, i)
		within := int(off - start)
		want := min(len(p)-n, size-within)
		if im.entries[i].Hole() {
			clear(p[n : n+want])
		} else {
			raw, err := im.chunk(i)
			if err != nil {
				return n, err
			}
			copy(p[n:n+want], raw[within:])
		}
		n += want
		off += int64(want)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// chunk returns chunk i's raw bytes from the cache, from a fetch under
// way, or from the store.
func (im *Image) chunk(i int) ([]byte, error) {
	if raw := im.cache.get(i); raw != nil {
		return raw, nil
	}
	im.mu.Lock()
	if f, ok := im.inflight[i]; ok {
		im.mu.Unlock()
		<-f.done
		return f.raw, f.err
	}
	f := &fetch{done: make(chan struct{})}
	im.inflight[i] = f
	im.mu.Unlock()
	f.raw, f.err = im.load(i)
	im.mu.Lock()
	delete(im.inflight, i)
	im.mu.Unlock()
	close(f.done)
	return f.raw, f.err
}

// load reads, decodes and checks chunk i and caches it; a failure is
// logged and not cached, so the next read tries again.
func (im *Image) load(i int) ([]byte, error) {
	e := im.entries[i]
	off, n := extent(im.size, im.chunkSize, i)
	stored, err := im.store.Get(context.Background(), e.ID)
	var raw []byte
	if err == nil {
		raw, err = im.dec.Decode(stored, n, e.ID)
	}
	if err != nil {
		err = blockdiff.Problem{Chunk: i, Offset: off, ID: e.ID, Err: err}
		im.log.Error("image chunk unreadable", "err", err)
		return nil, err
	}
	im.cache.put(i, raw)
	return raw, nil
}

// extent returns the offset and length of chunk i.
func extent(size int64, chunkSize, i int) (int64, int) {
	off := int64(i) * int64(chunkSize)
	return off, int(min(int64(chunkSize), size-off))
}

// SeekData returns the first offset at or after off that holds data (a
// stored chunk), or the image size when none does (SEEK_DATA's ENXIO).
func (im *Image) SeekData(off int64) int64 { return im.seek(off, false) }

// SeekHole returns the first offset at or after off inside a hole, or the
// image size (the implicit hole at the end), as SEEK_HOLE does.
func (im *Image) SeekHole(off int64) int64 { return im.seek(off, true) }

func (im *Image) seek(off int64, hole bool) int64 {
	if off < 0 {
		off = 0
	}
	for i := int(off / int64(im.chunkSize)); i < len(im.entries); i++ {
		if im.entries[i].Hole() == hole {
			start, _ := extent(im.size, im.chunkSize, i)
			return max(start, off)
		}
	}
	return im.size
}
