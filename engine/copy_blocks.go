package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/repo"
)

// copyBlocks copies block-mode backup b of from into to under its ID
// (see Copy), filling in c. The copy is committed only once every chunk
// its index names is in to's store with the stored length it records.
func copyBlocks(ctx context.Context, from, to *repo.Repo, b *repo.Backup, o CopyOptions, c *CopiedBackup) error {
	started := time.Now()
	src, err := from.Chunks()
	if err != nil {
		return err
	}
	dst, err := to.Chunks()
	if err != nil {
		return err
	}
	if _, err := dst.RemoveTemp(ctx); err != nil { // chunk temp files of a killed run
		return err
	}
	damaged, err := damagedChunks(to)
	if err != nil {
		return err
	}
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil {
		return err
	}
	p, err := to.BeginID(b.Name, b.ID)
	if err != nil {
		return err
	}
	p.Labels = copiedLabels(b)
	committed := false
	defer func() {
		if !committed {
			_ = fileops.RemoveTree(p.Dir, 1)
		}
	}()
	co := blockdiff.CopyOptions{Workers: o.Jobs, Damaged: damaged, Previous: previousCopy(from, to, b, o)}
	if o.Progress != nil {
		co.Progress = func(n int64) { o.Progress.Bytes.Add(n) }
	}
	out, st, err := blockdiff.CopyIndex(ctx, idx, src, dst, p.IndexPath(), co)
	if err != nil {
		dst.Discard()
		return err
	}
	if len(st.Healed) > 0 { // durable: CopyIndex synced the store
		if err := recordDamagedChunks(to, nil, st.Healed); err != nil {
			o.Log.Warn("healed chunks stay listed as damaged; the next backup replaces them again", "err", err)
		}
	}
	probs, err := blockdiff.Verify(ctx, out, dst, 0) // presence and stored length of every chunk
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %d chunks of the copy not as its index says in %s (first: %v)", ErrVerifyFailed, len(probs), to, probs[0])
	}
	sum, err := hashFile(p.IndexPath())
	if err != nil {
		return err
	}
	info := *b.Info
	info.ManifestBLAKE3 = sum
	info.AddedBytes, info.Copied, info.Linked, info.Reflinked = st.StoredBytes, st.NewChunks, st.ReusedChunks, 0
	info.CopiedFrom = copyOrigin(from, started)
	if err := p.Commit(&info); err != nil {
		return err
	}
	committed = true
	c.Stored, c.Bytes, c.Reused, c.Read = st.NewChunks, st.StoredBytes, st.ReusedChunks, st.ReadBytes
	return nil
}

// previousCopy returns the newest image of b's name that to holds as a
// copy CopyIndex made from from, with the index from holds of it: it
// pairs from's chunk ids with to's (see blockdiff.CopyOptions.Previous).
// Nil when there is none, or its indexes cannot be read (then chunks
// whose ids the stores give differently are read: slower, never wrong).
func previousCopy(from, to *repo.Repo, b *repo.Backup, o CopyOptions) *blockdiff.CopyPair {
	bs, err := to.Backups(b.Name)
	if err != nil {
		return nil
	}
	for i := len(bs) - 1; i >= 0; i-- {
		t := &bs[i]
		if !t.Blocks() || t.Info.CopiedFrom == nil || t.Info.CopiedFrom.RepoID != from.ID {
			continue
		}
		f, err := from.Pick(t.Name, t.ID)
		if err != nil || !f.Blocks() {
			continue
		}
		fi, err := blockdiff.ReadIndex(f.IndexPath())
		if err != nil {
			o.Log.Warn("index unreadable; not used to pair chunk ids", "backup", f.ID, "err", err)
			continue
		}
		ti, err := blockdiff.ReadIndex(t.IndexPath())
		if err != nil {
			o.Log.Warn("index unreadable; not used to pair chunk ids", "backup", t.ID, "err", err)
			continue
		}
		return &blockdiff.CopyPair{From: fi, To: ti}
	}
	return nil
}
