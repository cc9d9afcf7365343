package blockdiff

import (
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// Chunk size limits and default. An Index with a chunk size outside
// [MinChunkSize, MaxChunkSize] or not a multiple of 4096 is rejected.
const (
	// DefaultChunkSize is the chunk size Backup uses when Options.ChunkSize
	// is 0. Measured on 2 shared cores (bench_test.go):
	//   - full backups, BenchmarkChunkSize (256 MiB compressible, 3 rounds
	//     interleaved): store on ext4 1 MiB 103-113 MB/s, 2 MiB 123-144,
	//     4 MiB 127-143; store on tmpfs all three 153-181 (noise): 1 MiB
	//     pays for 4x the chunk files and fsyncs, 2 and 4 MiB are equal;
	//   - incrementals, BenchmarkIncrementalExt4 (a day of small file
	//     changes on a real ext4 image): 1 MiB stores 3.9 MB a day, 2 MiB
	//     5.5 MB, 4 MiB 10.0 MB; BenchmarkIncremental1Percent/clustered
	//     stores 2.3, 3.7 and 7.4 MiB for 2.56 MiB changed.
	// 2 MiB keeps 4 MiB's speed at about half its incremental storage,
	// with 524,288 chunk files and a 17 MB index per TiB of data.
	DefaultChunkSize = 2 << 20

	// MinChunkSize keeps the number of chunk files per TiB below 16M.
	MinChunkSize = 64 << 10

	// MaxChunkSize bounds the memory of a Backup or Restore: each worker
	// holds about three chunks.
	MaxChunkSize = 64 << 20

	// chunkAlign: chunk sizes are multiples of the largest common device
	// logical block size, so every chunk write to a device is aligned.
	chunkAlign = 4096
)

// Index limits, so that decoding an index never allocates more than the
// data it actually contains justifies, and never more than maxChunks
// entries (about 600 MB of memory; 32 TiB at the default chunk size,
// which Backup doubles for larger images).
const (
	maxChunks    = 1 << 24
	maxImageSize = 1 << 60
)

// compressLevel: BenchmarkCompressLevel (bench_test.go; chunks of 256
// MiB sources on 2 shared cores, 3 runs) measured SpeedFastest at 181-207
// MB/s storing 0.398 of the synthetic text and 269-313 MB/s storing 0.323
// of real files (/usr/local/go, /usr/share); SpeedDefault at 143 and
// 241-253 MB/s storing 0.362 and 0.305. A full block backup of
// compressible data is bound by zstd, so Fastest's 20-40% more speed wins
// over Default's 6-9% smaller chunks. Incompressible chunks are
// recognised by samples before the full attempt (codec.incompressible).
const compressLevel = zstd.SpeedFastest

// inflightPerWorker is how many chunks may be in flight (planned but not
// yet recorded in order) per worker: one being read, hashed and
// compressed, one waiting, so that no worker waits for the in-order
// stages. Memory is about (inflightPerWorker+1)*Workers + 2*chunkWriters
// chunk-sized buffers: the chunks in flight and the stored forms being
// compressed or written. (4 and 8 were no faster: 2.4-2.5 s for a 1 GiB
// image either way.)
const inflightPerWorker = 2

// chunkWriters is the number of goroutines that write new chunks (each
// Put waits for the disk) while the workers compress the next ones.
const chunkWriters = 4

// defaultWorkers is the number of worker goroutines when Options.Workers
// or RestoreOptions.Workers is 0: two per usable CPU, because each worker
// both waits for a direct read or write and hashes or (de)compresses, and
// while one waits for the disk another can use the CPU.
func defaultWorkers() int { return 2 * runtime.GOMAXPROCS(0) }

// statWorkers is how many Stats DirStore.StatMany has in flight: a
// backup with a previous index checks each chunk it reuses this way
// before reading. Metadata reads of a cold cache wait for the disk, and
// 16 in flight keep a disk's queue (or an SSD's parallelism) busy without
// crowding out the backup's own reads; it is not measured beyond that.
const statWorkers = 16

// copyWorkers is the number of goroutines CopyIndex fetches, checks and
// stores chunks with when CopyOptions.Workers is 0. A copy to or from a
// remote store waits mostly for round trips (a Stat and a Put per new
// chunk), not for the CPU, so it runs more of them than there are CPUs.
// Not measured where it matters: against a SeaweedFS on the same 2
// cores (lvback copy of a 256 MiB random image, local to s3:, two
// rounds), 2, 4, 8 and 16 workers all ran at 29-64 MB/s, bound by the
// server's CPU and noise, 8 at 34-47 MB/s.
const copyWorkers = 8

// copyBatch is how many index entries CopyIndex resolves at once: it asks
// the target about a batch's chunks with one StatMany (statWorkers in
// flight) before reading any of them. 4096 entries are 8 GiB of image at
// the default chunk size and about 150 KiB of memory.
const copyBatch = 4096
