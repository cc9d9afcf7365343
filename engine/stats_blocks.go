package engine

import (
	"context"
	"errors"
	"os"
	"sync/atomic"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
)

// statsStatBatch is how many chunk ids listChunks asks the store's sizes
// of at once: enough for StatMany's concurrency, little memory.
const statsStatBatch = 4096

// listChunks records the size of every chunk the store holds (the chunk
// file's, or the object's on S3) when any of vols has a block backup, so
// that a chunk counts what the store really holds and chunks no backup
// references are seen.
func (s *statsRun) listChunks(ctx context.Context, vols []VolumeStats) error {
	if !anyBlocks(vols) {
		return nil
	}
	if _, err := os.Stat(s.r.ChunksDir()); errors.Is(err, os.ErrNotExist) && s.r.Remote == nil {
		return nil // no chunk was ever stored
	}
	store, err := s.r.Chunks()
	if err != nil {
		return err
	}
	var batch []blockdiff.ID
	flush := func() error {
		sizes, err := store.StatMany(ctx, batch)
		if err != nil {
			return err
		}
		for i, id := range batch {
			if sizes[i] >= 0 { // else deleted since List
				s.chunks.known(id, sizes[i])
			}
		}
		batch = batch[:0]
		return nil
	}
	err = store.List(ctx, func(id blockdiff.ID) error {
		if batch = append(batch, id); len(batch) == statsStatBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// anyBlocks reports whether a backup of vols is a block-mode one.
func anyBlocks(vols []VolumeStats) bool {
	for _, v := range vols {
		for _, b := range v.Backups {
			if b.Mode == repo.ModeBlocks {
				return true
			}
		}
	}
	return false
}

// countIndex counts the chunks of a block backup's index: each reference
// for the dedup ratio, each distinct chunk once in the ledger. A chunk
// the store lacks counts the stored size the index records.
func (s *statsRun) countIndex(ctx context.Context, b *repo.Backup, row *BackupStats, bi, v int32) error {
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil {
		return err
	}
	row.LogicalBytes = idx.Size
	var refRaw, missing int64
	err = idx.Each(func(i int, e blockdiff.Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Hole() {
			return nil
		}
		_, n := idx.Extent(i)
		refRaw += int64(n)
		if s.chunks.touchMissing(e.ID, int64(e.Stored), int64(n), bi, v) {
			missing++
		}
		return nil
	})
	atomic.AddInt64(&s.refRaw[v], refRaw)
	atomic.AddInt64(&s.missing[v], missing)
	return err
}
