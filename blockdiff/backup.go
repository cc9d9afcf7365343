package blockdiff

import (
	"context"
	"fmt"
)

// Options tunes Backup. The zero value is valid: defaults apply.
type Options struct {
	// ChunkSize is the chunk size in bytes: a multiple of 4096 from
	// MinChunkSize to MaxChunkSize; 0 means DefaultChunkSize, doubled as
	// often as an image above 32 TiB needs to stay within 2^24 chunks.
	// Backups with different chunk sizes share only holes.
	ChunkSize int
	// Workers is the number of hashing and compressing goroutines; 0 means
	// 2*GOMAXPROCS. At most 2*Workers chunks are in flight at once.
	Workers int
	// Progress, when set, is called with the byte count of each finished
	// chunk, in image order, from one goroutine at a time.
	Progress func(n int64)
	// Previous, when set, is an earlier index whose chunks are probably
	// in the store (the volume's newest complete backup, read under the
	// repository lock). Before reading, Backup asks the store about all
	// of its chunks at once (StatMany) instead of one question per chunk
	// read: after a cold start each question is a random metadata read,
	// and asked one at a time between reads they made a no-change backup
	// of a 1 GiB image half as fast as reading it. A chunk it lists that
	// the store lacks, or holds with another stored length, is stored
	// again when the source still has it.
	Previous *Index
	// Damaged lists chunks whose stored copy is known to be damaged
	// (verify found them): a chunk in it that the source still has is
	// stored again, replacing the damaged copy (ChunkStore.Replace), and
	// is listed in Stats.Healed. Backup does not modify it.
	Damaged map[ID]bool
	// Unchanged, when set, says which chunks of the source hold what they
	// held when Previous was made (thin_delta said so): Backup takes
	// their entries from Previous without reading them. It needs a
	// Previous of the source's size and ChunkSize. A chunk it names whose
	// stored copy is missing or damaged is read all the same.
	Unchanged func(chunk int) bool
}

// withDefaults fills in the defaults that do not depend on the source
// and checks the options.
func (o Options) withDefaults() (Options, error) {
	if o.ChunkSize != 0 {
		if err := CheckChunkSize(o.ChunkSize); err != nil {
			return o, err
		}
	}
	if o.Workers < 0 {
		return o, fmt.Errorf("workers %d: want 0 (default) or more", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = defaultWorkers()
	}
	return o, nil
}

// Stats counts what one Backup did. Chunks = Holes + NewChunks +
// ReusedChunks.
type Stats struct {
	Size         int64 // image size in bytes
	Chunks       int64 // chunks in the index
	Holes        int64 // all-zero chunks: recorded, not stored
	NewChunks    int64 // chunks this backup added to the store
	StoredBytes  int64 // bytes this backup added to the store
	ReusedChunks int64 // chunks the store held already, or that repeat an earlier chunk of this image
	ReadBytes    int64 // bytes read from the source: holes a sparse file reports are not read
	Carried      int64 // chunks taken from Options.Previous unread (Options.Unchanged); counted as Holes or ReusedChunks too
	// Healed lists the chunks this backup stored again over a damaged
	// copy (in Options.Damaged, or of a stored length other than
	// Previous records); they count as NewChunks. Chunks the store had
	// lost and this backup stored again are simply NewChunks.
	Healed []ID
	// SourceChanged, when not empty, says how a regular file source's
	// size, mtime or ctime moved while Backup read it: the image may mix
	// old and new data. Backup still writes the index; the caller decides
	// whether to keep it. Always empty for a block device.
	SourceChanged string
	// Source is a regular file source's identity when Backup opened it,
	// when it did not change while it was read (SourceChanged is empty):
	// a later backup that finds the same identity may Reuse the index.
	// Nil for a block device.
	Source *SourceIdentity
}

// Backup reads src (a regular file or a block device) once, sequentially,
// in chunks; stores every chunk that is not all zeros and not in store
// yet; makes the store durable (Sync); and then writes the index
// atomically and durably at indexPath. On error no index is written; the
// chunks stored so far stay, unreferenced, until GC (DirStore.Discard
// drops those not yet synced). It holds about 3*Workers+8 chunk-sized
// buffers (see inflightPerWorker), never the whole source. ctx cancels it.
func Backup(ctx context.Context, src string, store ChunkStore, indexPath string, o Options) (*Index, Stats, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, Stats{}, fmt.Errorf("back up %s: %w", src, err)
	}
	s, err := openSource(src)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("back up: %w", err)
	}
	defer s.close()
	if o.ChunkSize == 0 {
		o.ChunkSize = defaultChunkSizeFor(s.size)
	}
	if err := checkShape(s.size, o.ChunkSize); err != nil {
		return nil, Stats{}, fmt.Errorf("back up %s: %w", src, err)
	}
	if o.Unchanged != nil && (o.Previous == nil || o.Previous.Size != s.size || o.Previous.ChunkSize != o.ChunkSize) {
		return nil, Stats{}, fmt.Errorf("back up %s: unchanged chunks named without a previous index of the same size and chunk size", src)
	}
	b, err := newBackupRun(s, store, o)
	if err != nil {
		return nil, Stats{}, err
	}
	defer b.codec.close()
	idx, err := b.run(ctx)
	if err == nil {
		b.stats.SourceChanged, err = s.changed()
	}
	if err == nil && b.stats.SourceChanged == "" {
		b.stats.Source = s.identity
	}
	if err == nil {
		err = store.Sync(ctx)
	}
	if err == nil {
		err = WriteIndex(indexPath, idx)
	}
	if err != nil {
		return nil, b.stats, fmt.Errorf("back up %s: %w", src, err)
	}
	return idx, b.stats, nil
}

// defaultChunkSizeFor returns DefaultChunkSize, or the smallest power-of-two
// multiple of it that cuts an image of size bytes into at most maxChunks
// chunks.
func defaultChunkSizeFor(size int64) int {
	cs := DefaultChunkSize
	for chunkCount(size, cs) > maxChunks && cs < MaxChunkSize {
		cs *= 2
	}
	return cs
}
