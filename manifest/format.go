package manifest

import (
	"encoding/binary"
	"errors"

	"github.com/klauspost/compress/zstd"
)

// ErrCorrupt reports a manifest that is truncated, damaged or not a manifest
// at all. Every decoding error wraps it; I/O errors of the underlying reader
// do not.
var ErrCorrupt = errors.New("corrupt manifest")

// The manifest file format, version 2.
//
// A manifest is an 8-byte plain header followed by one zstd stream:
//
//	header  = "LVBKMNF" version          (version is the byte 0x02)
//	stream  = zstd( record* trailer )     (one frame, with zstd's content checksum)
//	record  = uvarint(len(payload)) payload
//
// Every payload starts with a tag byte. An entry payload (tag 0x01) holds
// the fields of one Entry in this fixed order:
//
//	0x01                         tag
//	byte                         Type
//	uvarint  shared              bytes Path shares with the previous entry's Path
//	string   suffix              Path = previous Path[:shared] + suffix
//	uvarint  Mode, UID, GID      (each at most 2^32-1)
//	varint   Size                (zig-zag, as encoding/binary.AppendVarint)
//	time     Mtime, Ctime
//	uvarint  Inode, Rdev
//	string   Target
//	string   LinkTo
//	uvarint  n                   number of xattrs, then n times:
//	string   Name, string Value  (a Reader leaves out alias names, IsXattrAlias)
//	[32]byte Hash                present only when Type is TypeFile
//
// where string = uvarint(length) followed by that many raw bytes and
//
//	time     = varint(Sec) uvarint(Nsec)  (seconds since the Unix epoch, any
//	                                       int64; nanoseconds, below 10^9)
//
// The previous Path of the first entry is "". Entries appear in strictly
// increasing Compare order of Path.
//
// The last record is the trailer (tag 0x02):
//
//	0x02                         tag
//	uvarint  count               number of entry records
//	[8]byte  sum                 xxhash64 (little-endian) of every entry
//	                             record as stored: length prefix and payload
//
// Nothing may follow the trailer in the decompressed stream. The count and
// sum make the record stream self-checking, independently of compression: a
// record stream cut at a record boundary, or altered, and then compressed
// again into a valid zstd frame (checksum and all) is still rejected.
//
// Besides a bad header, a zstd error, a missing trailer, data after it, a
// count or sum mismatch, the decoder rejects every record a Writer cannot
// produce: an unknown tag or Type, a length above the limits in entry.go, a
// value that does not fit its Go type, a shared prefix longer than the
// previous Path, trailing bytes in a payload, and every entry that Add
// refuses (path order, ValidPath, LinkTo, xattr order, Nsec of 10^9 or
// more).
//
// Version 1 differs only in its times: each is one zig-zag varint of
// nanoseconds since the Unix epoch, so it cannot hold a time before
// 1677-09-21 or after 2262-04-11:
//
//	varint   Size, Mtime, Ctime  (Mtime and Ctime in nanoseconds)
//
// The Reader reads both versions and converts version 1's nanoseconds
// exactly (seconds rounded down, so Nsec is never negative); a Writer
// writes version 2 only.
const (
	magic    = "LVBKMNF"
	version  = 2 // what a Writer writes
	version1 = 1 // nanosecond times; read only

	headerLen = len(magic) + 1

	tagEntry   = 0x01
	tagTrailer = 0x02

	hashLen = 32 // len(Entry.Hash)
	sumLen  = 8  // xxhash64 in the trailer

	// maxEntryPayload bounds an entry payload of either version: every
	// varint at its longest, every string at its limit, every xattr at its
	// limit.
	maxEntryPayload = 2 + 15*binary.MaxVarintLen64 + 3*MaxPathLen + hashLen +
		MaxXattrs*(2*binary.MaxVarintLen64+MaxXattrName+MaxXattrValue)
)

// Tunable defaults, all in one place.
const (
	// encoderLevel: BenchmarkLevel (stream_test.go; 100k synthetic entries,
	// 2 shared amd64 cores) gave SpeedFastest 0.70-0.93M entries/s at 51.6
	// bytes/entry, SpeedDefault 0.48-0.59M entries/s at 50.0 bytes/entry,
	// SpeedBetterCompression 0.11-0.17M entries/s at 49.95. Either of the
	// first two outruns a walker that stats and hashes files by far, so
	// Default's 3% smaller manifests, kept for every retained run, win.
	encoderLevel = zstd.SpeedDefault

	// encoderWindow: manifest redundancy is local (neighbouring paths and
	// metadata); in BenchmarkLevel a 1 MiB window gives the same size as
	// the 8 MiB default, is faster, and keeps encoder and decoder history
	// buffers near 1 MiB.
	encoderWindow = 1 << 20

	// decoderMaxMemory caps the zstd window a reader accepts, so a hostile
	// frame header cannot make it allocate more. 64 MiB leaves room for
	// manifests written by future encoders with larger windows.
	decoderMaxMemory = 64 << 20

	// ioBufSize is the bufio buffer between the file and zstd (whose stream
	// decoder reads frame headers a few bytes at a time) and between zstd
	// and the record parser. 64 KiB amortises syscalls; more gains nothing.
	ioBufSize = 64 << 10

	// maxKeptBuf: a reader keeps its record buffer between records unless it
	// grew beyond this (an entry with huge xattrs), so one outlier does not
	// pin up to maxEntryPayload bytes for the rest of the stream.
	maxKeptBuf = 1 << 20
)
