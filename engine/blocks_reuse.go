package engine

import (
	"context"
	"fmt"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/repo"
)

// readSource fills in p's index: a copy of prev's when the source is an
// image file that has not changed since prev read it (see reuseIndex),
// otherwise by reading the source (blockdiff.Backup): of a thin
// snapshot, only the chunks thin_delta says changed since prev when it
// can (see thinChanges, whose plan it returns). reusedFrom is the ID of
// the backup whose index was copied, "" when the source was read.
func (o *BlockOptions) readSource(ctx context.Context, r *repo.Repo, store repo.ChunkStore, p *repo.Pending, prev *repo.Backup, damaged map[blockdiff.ID]bool) (st blockdiff.Stats, reusedFrom string, plan thinPlan, err error) {
	prevIdx := previousIndex(prev, o.Log)
	reused, st, err := o.reuseIndex(ctx, r, store, p.IndexPath(), prev, prevIdx, damaged)
	switch {
	case err != nil:
		return st, "", plan, err
	case reused:
		return st, prev.ID, plan, nil
	}
	opts := o.diffOptions(r.BlockChunkSize, prevIdx, damaged)
	if o.Thin != nil {
		plan = o.thinChanges(ctx, prev, prevIdx, r.BlockChunkSize)
		opts.Unchanged = plan.unchanged
		if plan.unchanged == nil {
			o.Log.Info("full read: "+plan.reason, "volume", o.Name)
		} else {
			o.Log.Info(fmt.Sprintf("thin_delta: reading the %s of chunks that changed since %s", units.Bytes(plan.changed), prev.ID), "volume", o.Name)
		}
	}
	if o.Progress != nil {
		if size, err := blockdiff.SourceSize(o.Source); err == nil {
			o.Progress.expect(size) // block devices report their size here, not in stat
		}
		opts.Progress = func(n int64) { o.Progress.add(n) }
	}
	_, st, err = blockdiff.Backup(ctx, o.Source, store, p.IndexPath(), opts)
	return st, "", plan, err
}

// reuseIndex writes prevIdx (prev's index) to indexPath without reading
// the source when sourceUnchanged says the source is still what prev
// read and the store holds every chunk of it, undamaged
// (blockdiff.Reuse). It reports whether it did; when it did not, the
// source must be read (which also stores again what the store lost).
func (o *BlockOptions) reuseIndex(ctx context.Context, r *repo.Repo, store blockdiff.ChunkStore, indexPath string, prev *repo.Backup, prevIdx *blockdiff.Index, damaged map[blockdiff.ID]bool) (bool, blockdiff.Stats, error) {
	if o.Snapshot || o.FullRead || prev == nil || prevIdx == nil {
		return false, blockdiff.Stats{}, nil // a snapshot's mtime says nothing of its content
	}
	cur, err := blockdiff.IdentifySource(o.Source)
	if err != nil || !sourceUnchanged(prev.Info, cur, prevIdx, r.BlockChunkSize) {
		return false, blockdiff.Stats{}, nil // Backup reports an unreadable source
	}
	reused, st, err := blockdiff.Reuse(ctx, prevIdx, store, indexPath, damaged)
	switch {
	case err != nil:
		return false, st, err
	case !reused:
		o.Log.Info("source unchanged, but chunks of its previous backup are missing or damaged: reading it", "volume", o.Name, "backup", prev.ID)
		return false, st, nil
	}
	st.Source = cur // recorded again: the next backup compares with it
	o.Log.Info(fmt.Sprintf("source unchanged since %s (size, mtime, ctime, inode): reused its index without reading", prev.ID), "volume", o.Name)
	return true, st, nil
}

// sourceUnchanged reports whether an image file whose identity is now cur
// is the one prev (a complete block backup) read, unchanged: same device,
// inode, size, mtime and ctime, and prev's read saw no change while it
// went, and prev's index has the chunk size a new backup would use
// (chunkSize; 0 is the default, which depends only on the size).
func sourceUnchanged(prev *repo.Info, cur *blockdiff.SourceIdentity, prevIdx *blockdiff.Index, chunkSize int) bool {
	switch {
	case prev == nil || cur == nil || prev.SourceFile == nil || prev.SourceChanged:
		return false
	case *prev.SourceFile != *cur:
		return false
	case prevIdx.Size != cur.Size || (chunkSize != 0 && prevIdx.ChunkSize != chunkSize):
		return false
	}
	return true
}
