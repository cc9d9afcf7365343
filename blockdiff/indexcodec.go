package blockdiff

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"

	"github.com/lvback/lvback/internal/durable"
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
// what DecodeIndex would reject. (An index built in memory must hold
// the image hash of its entries; one that does not fails only after
// being written.)
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
	buf = binary.AppendUvarint(buf, uint64(idx.Len()))
	_, _ = bw.Write(buf) // errors stick in bw: checked at Flush
	err = idx.Each(func(_ int, e Entry) error {
		buf = binary.AppendUvarint(buf[:0], uint64(e.Stored))
		if !e.Hole() {
			buf = append(buf, e.ID[:]...)
		}
		_, _ = bw.Write(buf)
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// WriteIndex writes idx to path durably (durable.Create): a temporary
// file in the same directory, fsync, rename, fsync of the directory. path
// never holds a partial index; on error it is untouched.
func WriteIndex(path string, idx *Index) error {
	f, err := durable.Create(path, 0o600)
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	defer f.Cleanup() // removes the temporary file; a no-op after Commit
	if err := idx.Encode(f); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// ReadIndex reads and checks the index at path. It keeps none of the
// entries in memory: Each, Chunks, Verify and Restore decode the file
// again as they go (see Index.Each), so an index of any size costs a
// constant amount of memory, however large the image it declares. The
// file must stay in place while the index is used.
func ReadIndex(path string) (*Index, error) {
	idx, err := decodeFrom(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}

// maxIndexBytes bounds what DecodeIndex reads: the largest index Encode
// can write (maxChunks entries of at most 4+32 bytes, with room for
// headers and incompressible zstd blocks).
const maxIndexBytes = 64 + maxChunks*40

// DecodeIndex reads one index from r and checks it against the index file
// format (see the package documentation). It survives any input: it never
// panics, and its memory is bounded by the size of the input (it keeps
// the compressed form and decodes entries as they are used, see
// Index.Each), never by the image size or chunk count the input declares.
func DecodeIndex(r io.Reader) (*Index, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxIndexBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	if len(data) > maxIndexBytes {
		return nil, fmt.Errorf("%w: larger than any index (%d bytes)", ErrCorruptIndex, maxIndexBytes)
	}
	return decodeFrom(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// decodeFrom decodes the index src holds and checks every entry and the
// image hash in one pass, keeping no entry.
func decodeFrom(src indexSource) (*Index, error) {
	s, h, err := openIndexStream(src)
	if err != nil {
		return nil, err
	}
	s.close()
	idx := &Index{Size: h.size, ChunkSize: h.chunkSize, Hash: h.hash, src: src}
	if err := idx.checkList(); err != nil {
		return nil, err
	}
	return idx, nil
}
