package blockdiff

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// ErrCorruptChunk reports stored chunk data that does not decode to the
// raw chunk its id names.
var ErrCorruptChunk = errors.New("corrupt chunk")

// Flag bytes that start a stored chunk.
const (
	flagRaw  = 0x00 // the raw bytes follow
	flagZstd = 0x01 // one zstd frame of the raw bytes follows
)

// codec encodes and decodes stored chunks. One codec serves all workers of
// a run: zstd's EncodeAll and DecodeAll are safe for concurrent use.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

// newCodec makes a codec for up to workers concurrent calls.
func newCodec(workers int) (*codec, error) { return newCodecLevel(workers, compressLevel) }

// newCodecLevel is newCodec with the zstd level as a parameter, for
// BenchmarkCompressLevel.
func newCodecLevel(workers int, level zstd.EncoderLevel) (*codec, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(workers),
		zstd.WithEncoderCRC(false)) // BLAKE3 of the raw data checks it
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(workers),
		zstd.WithDecoderMaxMemory(MaxChunkSize),
		zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		enc.Close()
		return nil, err
	}
	return &codec{enc: enc, dec: dec}, nil
}

// close releases the codec's goroutines and buffers.
func (c *codec) close() {
	c.enc.Close()
	c.dec.Close()
}

// encode returns the stored form of raw, built in dst's storage:
// compressed when that makes it smaller, else raw.
func (c *codec) encode(dst, raw []byte) []byte {
	dst = append(dst[:0], flagZstd)
	dst = c.enc.EncodeAll(raw, dst)
	if len(dst)-1 >= len(raw) {
		dst = append(append(dst[:0], flagRaw), raw...)
	}
	return dst
}

// decode returns the raw chunk held by stored, which must be n bytes long
// and hash to id. It decompresses into buf (cap(buf) >= n) or, for a raw
// chunk, returns a slice of stored.
func (c *codec) decode(buf, stored []byte, n int, id ID) ([]byte, error) {
	if len(stored) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorruptChunk)
	}
	var raw []byte
	switch stored[0] {
	case flagRaw:
		raw = stored[1:]
	case flagZstd:
		var err error
		raw, err = c.dec.DecodeAll(stored[1:], buf[:0:n])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorruptChunk, err)
		}
	default:
		return nil, fmt.Errorf("%w: unknown flag byte %#x", ErrCorruptChunk, stored[0])
	}
	if len(raw) != n {
		return nil, fmt.Errorf("%w: %d raw bytes, want %d", ErrCorruptChunk, len(raw), n)
	}
	if sumID(raw) != id {
		return nil, fmt.Errorf("%w: data does not hash to its id", ErrCorruptChunk)
	}
	return raw, nil
}
