package blockdiff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// indexHeader is what an index body holds before its entries.
type indexHeader struct {
	size      int64
	chunkSize int
	hash      ID
}

// decodeHeader parses the start of a decompressed index body, up to the
// first entry; errors are format errors, which callers mark as
// ErrCorruptIndex. It checks the declared size against the declared chunk
// count before anything reads an entry, so a count is never trusted
// beyond the size it must match, and neither is ever allocated for.
func decodeHeader(br *bufio.Reader) (indexHeader, error) {
	var h indexHeader
	size, err := readUint(br, "size", maxImageSize)
	if err != nil {
		return h, err
	}
	chunkSize, err := readUint(br, "chunk size", MaxChunkSize)
	if err != nil {
		return h, err
	}
	h.size, h.chunkSize = int64(size), int(chunkSize)
	if err := checkShape(h.size, h.chunkSize); err != nil {
		return h, err
	}
	if _, err := io.ReadFull(br, h.hash[:]); err != nil {
		return h, fmt.Errorf("image hash: %w", err)
	}
	count, err := readUint(br, "chunk count", math.MaxInt64)
	if err != nil {
		return h, err
	}
	if want := chunkCount(h.size, h.chunkSize); count != uint64(want) {
		return h, fmt.Errorf("%d chunks for %d bytes in %d-byte chunks, want %d", count, h.size, h.chunkSize, want)
	}
	return h, nil
}

// decodeEnd checks that nothing follows the last entry; reading to the
// end also makes zstd check its content checksum.
func decodeEnd(br *bufio.Reader) error {
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			return errors.New("data after the last entry")
		}
		return err
	}
	return nil
}

// readEntry parses one entry, reading its id through scratch (memory of
// the caller's that is on the heap already: an entry's own would escape
// to it, at a cost of one allocation per entry).
func readEntry(br *bufio.Reader, scratch *ID) (Entry, error) {
	var e Entry
	stored, err := readUint(br, "stored length", maxStoredLen)
	if err != nil {
		return e, err
	}
	e.Stored = uint32(stored)
	if !e.Hole() {
		if _, err := io.ReadFull(br, scratch[:]); err != nil {
			return e, fmt.Errorf("chunk id: %w", err)
		}
		e.ID = *scratch
	}
	return e, checkEntry(e)
}

// readUint reads a uvarint of at most limit; what names it in errors.
func readUint(br *bufio.Reader, what string, limit uint64) (uint64, error) {
	v, err := binary.ReadUvarint(br)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if v > limit {
		return 0, fmt.Errorf("%s %d above %d", what, v, limit)
	}
	return v, nil
}
