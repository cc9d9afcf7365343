// Package blockdiff owns block-mode backups of raw volumes and disk images:
// it cuts a source (a regular file or a block device) into fixed-size
// chunks, stores each distinct non-zero chunk once, compressed, in a
// content-addressed ChunkStore shared by every backup and volume of a
// repository, and records each backup as an Index (image size, chunk size,
// whole-image BLAKE3, and per chunk a hole or a chunk id). It restores an
// Index to a file or a device, verifies the chunks an Index needs, and
// sweeps chunks no Index references.
//
// It never decides which backups exist or are kept, never takes the
// repository lock and never prints: package repo owns the layout and the
// lock, package engine orchestrates a run. The caller holds the repository
// lock around Backup, Restore, Verify and GC.
//
// A chunk is identified by the BLAKE3-256 of its raw bytes. It is stored as
// one flag byte followed by either the zstd frame of the raw bytes (flag 1)
// or, when zstd does not make it smaller, the raw bytes (flag 0). All-zero
// chunks are never stored: the Index records them as holes.
package blockdiff
