package blockdiff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// decodeBody parses the decompressed index body; errors are format
// errors, which DecodeIndex marks as ErrCorruptIndex.
func decodeBody(br *bufio.Reader) (*Index, error) {
	size, err := readUint(br, "size", maxImageSize)
	if err != nil {
		return nil, err
	}
	chunkSize, err := readUint(br, "chunk size", MaxChunkSize)
	if err != nil {
		return nil, err
	}
	idx := &Index{Size: int64(size), ChunkSize: int(chunkSize)}
	if err := checkShape(idx.Size, idx.ChunkSize); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(br, idx.Hash[:]); err != nil {
		return nil, fmt.Errorf("image hash: %w", err)
	}
	count, err := readUint(br, "chunk count", math.MaxInt64)
	if err != nil {
		return nil, err
	}
	if want := chunkCount(idx.Size, idx.ChunkSize); count != uint64(want) {
		return nil, fmt.Errorf("%d chunks for %d bytes in %d-byte chunks, want %d", count, idx.Size, idx.ChunkSize, want)
	}
	// Grow as entries arrive: a forged count costs nothing until backed
	// by data.
	idx.Entries = make([]Entry, 0, min(count, 1<<12))
	for i := range count {
		e, err := readEntry(br)
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		idx.Entries = append(idx.Entries, e)
	}
	// Reading to the end also makes zstd check its content checksum.
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, errors.New("data after the last entry")
		}
		return nil, err
	}
	if got := idx.ImageHash(); got != idx.Hash {
		return nil, fmt.Errorf("image hash %s does not match its chunk list (%s)", idx.Hash, got)
	}
	return idx, nil
}

// readEntry parses one entry.
func readEntry(br *bufio.Reader) (Entry, error) {
	var e Entry
	stored, err := readUint(br, "stored length", maxStoredLen)
	if err != nil {
		return e, err
	}
	e.Stored = uint32(stored)
	if !e.Hole() {
		if _, err := io.ReadFull(br, e.ID[:]); err != nil {
			return e, fmt.Errorf("chunk id: %w", err)
		}
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
