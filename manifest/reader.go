package manifest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// Reader decodes a manifest, one entry at a time, checking everything a
// Writer guarantees. Its memory is bounded by the limits in entry.go and
// the zstd window cap, whatever the input. A Reader is not safe for
// concurrent use.
type Reader struct {
	src   *sourceReader
	dec   *zstd.Decoder
	br    *bufio.Reader  // decompressed records
	buf   bytes.Buffer   // the current record, reused
	sum   *xxhash.Digest // over every entry record read
	prev  string         // Path of the last entry returned
	ver   byte           // format version from the header
	count int64
	err   error // sticky: the first failure, or io.EOF after the trailer

	file *os.File // nil for NewReader
}

// sourceReader remembers the first error of the underlying reader other
// than io.EOF, so that an I/O failure is reported as such, not as
// corruption.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}

// Open opens the manifest file at path.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	r, err := NewReader(f)
	if err != nil {
		_ = f.Close() // the read error is the one to report
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	r.file = f
	return r, nil
}

// NewReader starts decoding the manifest read from src. It reads and checks
// the header before it returns.
func NewReader(src io.Reader) (*Reader, error) {
	r := &Reader{src: &sourceReader{r: src}, sum: xxhash.New()}
	// The bufio.Reader also hides any Bytes method of src, which would make
	// zstd decode the whole input in memory rather than stream it.
	in := bufio.NewReaderSize(r.src, ioBufSize)
	var hdr [headerLen]byte
	if _, err := io.ReadFull(in, hdr[:]); err != nil {
		return nil, r.readErr(err)
	}
	if string(hdr[:len(magic)]) != magic {
		return nil, fmt.Errorf("manifest: %w: bad magic %q", ErrCorrupt, hdr[:len(magic)])
	}
	r.ver = hdr[len(magic)]
	if r.ver != version && r.ver != version1 {
		return nil, fmt.Errorf("manifest: %w: unsupported version %d", ErrCorrupt, r.ver)
	}
	dec, err := zstd.NewReader(in,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(decoderMaxMemory))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	r.dec = dec
	r.br = bufio.NewReaderSize(dec, ioBufSize)
	return r, nil
}

// Next returns the next entry in Compare order of Path, or (nil, io.EOF)
// once the trailer has been read and the entry count, checksum and end of
// stream all check out. Every other error is sticky; a damaged or truncated
// manifest gives an error wrapping ErrCorrupt, never a panic. Entries share
// no memory with the Reader or with each other. An entry without xattrs has
// nil Xattrs, and an empty attribute value is a nil Value. Xattrs never hold
// alias names (IsXattrAlias): those lvback recorded from XFS before it
// knew them are left out as read.
func (r *Reader) Next() (*Entry, error) {
	if r.err != nil {
		return nil, r.err
	}
	e, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	return e, nil
}

func (r *Reader) next() (*Entry, error) {
	rec, payload, err := r.readRecord()
	if err != nil {
		return nil, err
	}
	switch payload[0] {
	case tagEntry:
		return r.entry(rec, payload)
	case tagTrailer:
		return nil, r.trailer(payload)
	}
	return nil, fmt.Errorf("manifest: record %d: %w: unknown tag %#x", r.count, ErrCorrupt, payload[0])
}

// readRecord reads one record. rec is the record as stored, payload its
// non-empty payload; both alias r.buf until the next call.
func (r *Reader) readRecord() (rec, payload []byte, err error) {
	n, err := binary.ReadUvarint(r.br)
	if err != nil {
		return nil, nil, r.readErr(err) // io.EOF too: no trailer yet
	}
	if n == 0 || n > maxEntryPayload {
		return nil, nil, fmt.Errorf("manifest: record %d: %w: length %d", r.count, ErrCorrupt, n)
	}
	if r.buf.Cap() > maxKeptBuf {
		r.buf = bytes.Buffer{}
	}
	r.buf.Reset()
	var prefix [binary.MaxVarintLen64]byte
	r.buf.Write(binary.AppendUvarint(prefix[:0], n))
	start := r.buf.Len()
	if err := r.readN(int(n)); err != nil {
		return nil, nil, r.readErr(err)
	}
	rec = r.buf.Bytes()
	return rec, rec[start:], nil
}

// readN appends the next n bytes of the stream to r.buf. It grows the
// buffer at most ioBufSize ahead of the bytes actually read, so a length
// field that lies costs no more memory than the data present.
func (r *Reader) readN(n int) error {
	for n > 0 {
		chunk := min(n, ioBufSize)
		r.buf.Grow(chunk)
		b := r.buf.AvailableBuffer()[:chunk]
		m, err := io.ReadFull(r.br, b)
		r.buf.Write(b[:m])
		if err != nil {
			return err
		}
		n -= chunk
	}
	return nil
}

// entry decodes and checks an entry record.
func (r *Reader) entry(rec, payload []byte) (*Entry, error) {
	e, err := decodeEntry(payload, r.prev, r.ver)
	if err == nil {
		e.Xattrs = withoutAliases(e.Xattrs)
		if err = checkEntry(e, r.prev, r.count == 0); err != nil {
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("manifest: entry %d: %w", r.count, err)
	}
	_, _ = r.sum.Write(rec) // never fails
	r.prev = e.Path
	r.count++
	return e, nil
}

// trailer checks the trailer and that the stream ends right after it. It
// returns io.EOF when all is well.
func (r *Reader) trailer(payload []byte) error {
	count, sum, err := decodeTrailer(payload)
	switch {
	case err != nil:
		return fmt.Errorf("manifest: trailer: %w", err)
	case count != uint64(r.count):
		return fmt.Errorf("manifest: %w: trailer counts %d entries, read %d", ErrCorrupt, count, r.count)
	case sum != r.sum.Sum64():
		return fmt.Errorf("manifest: %w: checksum mismatch", ErrCorrupt)
	}
	_, err = r.br.ReadByte()
	switch {
	case err == nil:
		return fmt.Errorf("manifest: %w: data after the trailer", ErrCorrupt)
	case !errors.Is(err, io.EOF):
		return r.readErr(err)
	}
	return io.EOF
}

// readErr turns a read failure into the error to report: the underlying
// reader's own error if it had one, otherwise corruption.
func (r *Reader) readErr(err error) error {
	where := "header"
	if r.dec != nil {
		where = fmt.Sprintf("record %d", r.count)
	}
	if r.src.err != nil {
		return fmt.Errorf("manifest: read %s: %w", where, r.src.err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("manifest: %s: %w: truncated", where, ErrCorrupt)
	}
	return fmt.Errorf("manifest: %s: %w: %w", where, ErrCorrupt, err)
}

// Close releases the decoder and, for Open, closes the file. Next fails
// after Close. Calling Close twice is safe.
func (r *Reader) Close() error {
	if errors.Is(r.err, errReaderClosed) {
		return nil
	}
	r.err = errReaderClosed
	r.dec.Close()
	if r.file != nil {
		return r.file.Close()
	}
	return nil
}

var errReaderClosed = errors.New("manifest: reader closed")
