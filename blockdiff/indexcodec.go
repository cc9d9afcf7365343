package blockdiff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
	"github.com/klauspost/compress/zstd"

	"github.com/lvback/lvback/fileops"
)

// Index file constants; doc.go describes the format.
const (
	indexMagic   = "LVBKIDX"
	indexVersion = 2

	// indexDecoderMaxMemory caps the zstd window a reader accepts (the
	// encoder uses 1 MiB); room for future encoders, bounded for hostile
	// frame headers.
	indexDecoderMaxMemory = 64 << 20
	indexEncoderWindow    = 1 << 20
	indexBufSize          = 64 << 10
)

// Encode writes the index in the index file format (see the package
// documentation). It refuses an inconsistent index, so it never writes
// what DecodeIndex would reject.
func (idx *Index) Encode(w io.Writer) error {
	if err := idx.check(); err != nil {
		return fmt.Errorf("encode index: %w", err)
	}
	if _, err := w.Write(append([]byte(indexMagic), indexVersion)); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(indexEncoderWindow))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(zw, indexBufSize)
	buf := binary.AppendUvarint(nil, uint64(idx.Size))
	buf = binary.AppendUvarint(buf, uint64(idx.ChunkSize))
	buf = append(buf, idx.Hash[:]...)
	buf = binary.AppendUvarint(buf, uint64(len(idx.Entries)))
	_, _ = bw.Write(buf) // errors stick in bw: checked at Flush
	for _, e := range idx.Entries {
		buf = binary.AppendUvarint(buf[:0], uint64(e.Stored))
		if !e.Hole() {
			buf = append(buf, e.ID[:]...)
		}
		_, _ = bw.Write(buf)
	}
	err = bw.Flush()
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// WriteIndex writes idx to path durably, the renameio way: a temporary
// file in the same directory, fsync, rename, fsync of the directory. path
// never holds a partial index; on error it is untouched.
func WriteIndex(path string, idx *Index) error {
	pf, err := renameio.NewPendingFile(path,
		renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	defer pf.Cleanup() // removes the temporary file; a no-op after CloseAtomicallyReplace
	if err := idx.Encode(pf); err != nil {
		return err
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := fileops.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write index: fsync %s: %w", filepath.Dir(path), err)
	}
	return nil
}

// ReadIndex reads and checks the index at path.
func ReadIndex(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	defer f.Close()
	idx, err := DecodeIndex(bufio.NewReaderSize(f, indexBufSize))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}

// DecodeIndex reads one index from r and checks it against the index file
// format (see the package documentation). It survives any input: it never
// panics, and its memory is bounded by the entries actually present (at
// most 2^24).
func DecodeIndex(r io.Reader) (*Index, error) {
	er := &errReader{r: r}
	var hdr [len(indexMagic) + 1]byte
	if _, err := io.ReadFull(er, hdr[:]); err != nil {
		return nil, er.wrap(fmt.Errorf("header: %w", err))
	}
	if string(hdr[:len(indexMagic)]) != indexMagic {
		return nil, fmt.Errorf("%w: not a block index", ErrCorruptIndex)
	}
	if hdr[len(indexMagic)] != indexVersion {
		return nil, fmt.Errorf("%w: version %d, this lvback reads %d", ErrCorruptIndex, hdr[len(indexMagic)], indexVersion)
	}
	zr, err := zstd.NewReader(er, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(indexDecoderMaxMemory))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	idx, err := decodeBody(bufio.NewReaderSize(zr, indexBufSize))
	if err != nil {
		return nil, er.wrap(err)
	}
	return idx, nil
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
