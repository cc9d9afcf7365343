package blockdiff

import (
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// Chunk size limits and default. An Index with a chunk size outside
// [MinChunkSize, MaxChunkSize] or not a multiple of 4096 is rejected.
const (
	// DefaultChunkSize is the chunk size Backup uses when Options.ChunkSize
	// is 0. BenchmarkChunkSize (bench_test.go, 256 MiB compressible
	// source, 2 shared cores) measured 1, 2 and 4 MiB chunks within noise of
	// each other in throughput, while 4 MiB keeps the chunk store at a
	// quarter of the files of 1 MiB (262,144 files per TiB instead of
	// 1,048,576) and the index at 40 bytes per 4 MiB. Smaller chunks only
	// win on scattered small writes (BenchmarkIncremental1Percent stores
	// about twice the bytes at 4 MiB than at 1 MiB for 1% of 4 KiB writes
	// spread over the image), which a volume's file system mostly avoids by
	// allocating extents together.
	DefaultChunkSize = 4 << 20

	// MinChunkSize keeps the number of chunk files per TiB below 16M.
	MinChunkSize = 64 << 10

	// MaxChunkSize bounds the memory of a Backup or Restore: each worker
	// holds about two chunks.
	MaxChunkSize = 64 << 20

	// chunkAlign: chunk sizes are multiples of the largest common device
	// logical block size, so every chunk write to a device is aligned.
	chunkAlign = 4096
)

// Index limits, so that decoding an index never allocates more than the
// data it actually contains justifies, and never more than maxChunks
// entries (about 600 MB of memory; 64 TiB at the default chunk size).
const (
	maxChunks    = 1 << 24
	maxImageSize = 1 << 60
)

// compressLevel: BenchmarkCompressLevel (bench_test.go, 4 MiB chunks of
// the synthetic compressible source, 2 shared cores) measured
// SpeedFastest and SpeedDefault; see the figures there. SpeedFastest is
// chosen: a block backup of compressible data is bound by zstd, and the
// few percent that SpeedDefault saves in size cost a third of the speed.
const compressLevel = zstd.SpeedFastest

// inflightPerWorker is how many chunks may be in flight (read but not yet
// recorded in order) per worker: one being hashed and compressed, one
// read ahead so that no worker waits for the sequential reader. Memory is
// about (inflightPerWorker*Workers + Workers) * ChunkSize.
const inflightPerWorker = 2

// defaultWorkers is the number of hashing/compressing goroutines when
// Options.Workers is 0: the work is CPU-bound (BLAKE3 and zstd), so one
// per usable CPU.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }
