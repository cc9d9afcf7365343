package blockdiff

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// indexSource opens the stored form of an index (header and zstd frame)
// for one more pass over its entries.
type indexSource func() (io.ReadCloser, error)

// Len returns the number of chunks (entries) of the image.
func (idx *Index) Len() int { return int(chunkCount(idx.Size, idx.ChunkSize)) }

// Each calls fn with every entry of the index and its number, in image
// order, and stops at fn's first error, which it returns. An index read
// by ReadIndex or DecodeIndex is decoded again as Each goes, in constant
// memory, and checked as on the first read: Each returns an error wrapping
// ErrCorruptIndex, after the calls, when the entries no longer add up to
// the index's image hash (the file changed since it was read).
func (idx *Index) Each(fn func(i int, e Entry) error) error {
	r, err := idx.entries(true)
	if err != nil {
		return err
	}
	defer r.close()
	for {
		i, e, err := r.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(i, e); err != nil {
			return err
		}
	}
}

// Chunks calls fn with the id of every stored chunk the index references,
// in image order; an id used at several offsets comes once per offset. It
// stops at fn's first error and returns it; like Each, it reports a
// damaged index after the calls. GC's caller marks with it.
func (idx *Index) Chunks(fn func(id ID) error) error {
	return idx.Each(func(_ int, e Entry) error {
		if e.Hole() {
			return nil
		}
		return fn(e.ID)
	})
}

// checkList reads every entry once and reports an index that Encode
// would not write or whose entries do not add up to its image hash.
func (idx *Index) checkList() error {
	return idx.Each(func(int, Entry) error { return nil })
}

// entryReader reads the entries of an index in image order, from Entries
// or by decoding its source again, checking as it goes what decoding
// checks: each entry, and at the end the absence of trailing data, zstd's
// checksum and, when compare is set, the image hash.
type entryReader struct {
	idx     *Index
	i, n    int64
	s       *indexStream // nil: read Entries
	ih      *imageHasher
	compare bool
	done    bool
}

// entries starts a pass over idx's entries.
func (idx *Index) entries(compare bool) (*entryReader, error) {
	if err := idx.check(); err != nil {
		return nil, err
	}
	r := &entryReader{idx: idx, n: chunkCount(idx.Size, idx.ChunkSize),
		ih: newImageHasher(idx.Size, idx.ChunkSize), compare: compare}
	if idx.src == nil {
		return r, nil
	}
	s, h, err := openIndexStream(idx.src)
	if err != nil {
		return nil, err
	}
	if h != (indexHeader{idx.Size, idx.ChunkSize, idx.Hash}) {
		s.close()
		return nil, fmt.Errorf("%w: the index changed since it was read", ErrCorruptIndex)
	}
	r.s = s
	return r, nil
}

// next returns the next entry and its number, or io.EOF after the last
// one once the end of the index checked out.
func (r *entryReader) next() (int, Entry, error) {
	if r.i == r.n {
		if !r.done {
			r.done = true
			if err := r.finish(); err != nil {
				return 0, Entry{}, err
			}
		}
		return 0, Entry{}, io.EOF
	}
	var e Entry
	if r.s == nil {
		e = r.idx.Entries[r.i]
	} else {
		var err error
		if e, err = readEntry(r.s.br, &r.s.id); err != nil {
			return 0, e, r.s.er.wrap(fmt.Errorf("chunk %d: %w", r.i, err))
		}
	}
	_, n := extent(r.idx.Size, r.idx.ChunkSize, int(r.i))
	r.ih.add(e.ID, e.Hole(), n)
	r.i++
	return int(r.i - 1), e, nil
}

// finish checks the end of the entries.
func (r *entryReader) finish() error {
	if r.s != nil {
		if err := decodeEnd(r.s.br); err != nil {
			return r.s.er.wrap(err)
		}
	}
	if got := r.ih.sum(); r.compare && got != r.idx.Hash {
		return fmt.Errorf("%w: image hash %s does not match its chunk list (%s)", ErrCorruptIndex, r.idx.Hash, got)
	}
	return nil
}

// close releases the source; a no-op for an index in memory.
func (r *entryReader) close() {
	if r.s != nil {
		r.s.close()
	}
}

// indexStream is an index file being decoded.
type indexStream struct {
	rc io.Closer
	er *errReader
	zr *zstd.Decoder
	br *bufio.Reader
	id ID // readEntry's scratch
}

// openIndexStream opens src and decodes the index's header.
func openIndexStream(src indexSource) (*indexStream, indexHeader, error) {
	rc, err := src()
	if err != nil {
		return nil, indexHeader{}, fmt.Errorf("read index: %w", err)
	}
	s := &indexStream{rc: rc, er: &errReader{r: rc}}
	h, err := s.start()
	if err != nil {
		s.close()
		return nil, h, err
	}
	return s, h, nil
}

// start reads the plain header and the body up to the first entry.
func (s *indexStream) start() (indexHeader, error) {
	var hdr [len(indexMagic) + 1]byte
	if _, err := io.ReadFull(s.er, hdr[:]); err != nil {
		return indexHeader{}, s.er.wrap(fmt.Errorf("header: %w", err))
	}
	if string(hdr[:len(indexMagic)]) != indexMagic {
		return indexHeader{}, fmt.Errorf("%w: not a block index", ErrCorruptIndex)
	}
	if hdr[len(indexMagic)] != indexVersion {
		return indexHeader{}, fmt.Errorf("%w: version %d, this lvback reads %d", ErrCorruptIndex, hdr[len(indexMagic)], indexVersion)
	}
	zr, err := zstd.NewReader(s.er, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(indexDecoderMaxMemory))
	if err != nil {
		return indexHeader{}, err
	}
	s.zr = zr
	s.br = bufio.NewReaderSize(zr, indexBufSize)
	h, err := decodeHeader(s.br)
	if err != nil {
		return h, s.er.wrap(err)
	}
	return h, nil
}

func (s *indexStream) close() {
	if s.zr != nil {
		s.zr.Close()
	}
	_ = s.rc.Close() // read only
}

// errReader remembers the first error of the underlying reader other than
// io.EOF, so a decoding failure caused by I/O is reported as I/O.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

// wrap returns the I/O error behind a decoding failure, or the failure
// marked as ErrCorruptIndex.
func (e *errReader) wrap(err error) error {
	if e.err != nil {
		return fmt.Errorf("read index: %w", e.err)
	}
	return fmt.Errorf("%w: %v", ErrCorruptIndex, err)
}
