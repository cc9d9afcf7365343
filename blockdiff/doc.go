// Package blockdiff owns block-mode backups of raw volumes and disk images:
// it cuts a source (a regular file or a block device) into fixed-size
// chunks, stores each distinct non-zero chunk once, compressed, in a
// content-addressed ChunkStore shared by every backup and volume of a
// repository, and records each backup as an Index (image size, chunk size,
// image hash, and per chunk a hole or a chunk id). It restores an
// Index to a file or a device, verifies the chunks an Index needs, heals
// missing or damaged chunks (by the next Backup that reads their data, or
// from an image with RepairFromImage), and sweeps chunks no Index
// references.
//
// An index read from a file is never held in memory: each pass over its
// entries decodes the file again, so that reading, verifying, restoring
// or marking an index costs memory independent of the image's size.
//
// It never decides which backups exist or are kept, never takes the
// repository lock and never prints: package repo owns the layout and the
// lock, package engine orchestrates a run. The caller holds the repository
// lock around Backup, Restore, Verify and GC.
//
// # Chunks
//
// A chunk is identified by the BLAKE3-256 of its raw bytes. It is stored as
// one flag byte followed by either one zstd frame of the raw bytes (flag
// 0x01) or, when zstd does not make it smaller, the raw bytes (flag 0x00).
// All-zero chunks are never stored: the Index records them as holes.
// DirStore keeps chunk abcdef... in DIR/ab/abcdef....
//
// # Image hash
//
// An index's Hash is the BLAKE3-256 of "lvback block image hash v2\x00",
// the image size and the chunk size (each a little-endian uint64), then
// the id of every chunk in image order, where a hole contributes the id of
// its zero bytes. It commits to every byte of the image like a flat hash,
// but costs no extra pass over the data and nothing for holes. Restore
// and Verify check it against the chunk list, and every chunk against
// its id.
//
// # Index file format, version 2
//
// An index is an 8-byte plain header followed by one zstd frame (with
// zstd's content checksum):
//
//	header = "LVBKIDX" version            (version is the byte 0x02)
//	body   = zstd( uvarint Size
//	               uvarint ChunkSize
//	               [32]byte Hash          (the image hash)
//	               uvarint count
//	               count × entry )
//	entry  = uvarint Stored               (0: a hole, and nothing follows)
//	         [32]byte ID                  (only when Stored > 0)
//
// Nothing may follow the last entry in the decompressed stream. Besides a
// bad header, a zstd error or checksum mismatch, and truncation, the
// decoder rejects everything Encode cannot write: a chunk size outside
// [MinChunkSize, MaxChunkSize] or not a multiple of 4096, a size above
// 2^60 or needing more than 2^24 chunks, a count other than
// ceil(Size/ChunkSize), a Stored of 1 or above 1+MaxChunkSize. It reads
// entries as they come and keeps none of them.
package blockdiff
