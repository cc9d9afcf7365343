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
	id  func([]byte) ID // the chunk id of raw data (idFunc of the store)
}

// newCodec makes a codec for up to workers concurrent calls on the
// chunks of store.
func newCodec(workers int, store ChunkStore) (*codec, error) {
	c, err := newCodecLevel(workers, compressLevel)
	if err == nil {
		c.id = idFunc(store)
	}
	return c, err
}

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
	return &codec{enc: enc, dec: dec, id: sumID}, nil
}

// close releases the codec's goroutines and buffers.
func (c *codec) close() {
	c.enc.Close()
	c.dec.Close()
}

// encode returns the stored form of raw, built in dst's storage:
// compressed when that makes it smaller, else raw. A chunk whose samples
// all look incompressible (see incompressible) is stored raw without
// trying to compress the rest.
func (c *codec) encode(dst, raw []byte) []byte {
	if !c.incompressible(dst, raw) {
		dst = c.enc.EncodeAll(raw, append(dst[:0], flagZstd))
		if len(dst)-1 < len(raw) {
			return dst
		}
	}
	return append(append(dst[:0], flagRaw), raw...)
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
	if c.id(raw) != id {
		return nil, fmt.Errorf("%w: data does not hash to its id", ErrCorruptChunk)
	}
	return raw, nil
}

// Sampling of incompressible chunks: a chunk of at least sampleMinChunk
// bytes is stored raw, uncompressed, when each of its sampleCount evenly
// spaced sampleLen-byte samples compresses by less than 1/sampleGain.
// Compressing the samples costs about 1/16 of compressing a 2 MiB chunk,
// where the full attempt on random data took as much CPU time as its
// BLAKE3 hash and its write together. A chunk with any compressible
// sample, e.g. one holding a run of zeros or text, is compressed whole,
// so only a chunk whose compressible parts all fall between the samples
// (runs shorter than a sample spacing, 1/7 of the chunk) loses ratio:
// BenchmarkBackupRealFiles (Go binaries and /usr/share, which holds
// compressed files) stored 0.316 instead of 0.311 of its bytes.
const (
	sampleMinChunk = 256 << 10
	sampleCount    = 8
	sampleLen      = 16 << 10
	sampleGain     = 32
)

// incompressible reports whether raw looks incompressible by its samples.
// It uses scratch's storage for the compressed samples.
func (c *codec) incompressible(scratch, raw []byte) bool {
	if len(raw) < sampleMinChunk {
		return false
	}
	step := (len(raw) - sampleLen) / (sampleCount - 1)
	for k := range sampleCount {
		sample := raw[k*step : k*step+sampleLen]
		out := c.enc.EncodeAll(sample, scratch[:0])
		if len(out) < sampleLen-sampleLen/sampleGain {
			return false
		}
		scratch = out[:0]
	}
	return true
}
