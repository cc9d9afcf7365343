package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/repo"
)

// BlockOptions says which raw image or block device to back up at the
// block level (for guest disks lvback cannot or should not mount): the
// shared BackupOptions (Source is the image or device; Jobs the chunk
// workers) and what only block mode has.
type BlockOptions struct {
	BackupOptions
	// Snapshot says Source is a snapshot lvback made, which nobody else
	// writes: it is read without the checks of a live source.
	Snapshot bool
	// RequireSnapshot refuses a live source (not Snapshot) that may be
	// written while it is read: a writable block device up front
	// (ErrNotSnapshot), an image file whose size, mtime or ctime moved
	// during the read afterwards (ErrSourceChanged; nothing is kept).
	// Without it both are warnings, logged and recorded in info.json
	// (SourceWarning, SourceChanged). A read-only device always passes.
	RequireSnapshot bool
	// FullRead reads an image file also when it has not changed since the
	// previous backup (without it, that backup's index is reused).
	FullRead bool
	// Thin, when set, says Source is a thin snapshot: the backup records
	// it and, when the previous backup read the snapshot kept now, reads
	// only the chunks thin_delta says changed (FullRead turns this off).
	Thin *ThinSource
}

// BackupBlocks makes a new dated block-mode backup of o.Source: only
// chunks the repository's chunk store lacks are stored (zstd, addressed by
// BLAKE3, shared across days and volumes), all-zero chunks are holes. Like
// Backup, the backup becomes complete only after everything is durable,
// and a failure removes its partial directory (stored chunks stay until
// prune collects them). An image file whose device, inode, size, mtime
// and ctime have not moved since the previous backup read it is not read
// again: that backup's index is reused when the store still holds all of
// its chunks, undamaged (Info.ReusedIndex; FullRead turns this off).
func BackupBlocks(ctx context.Context, o BlockOptions) (*Result, error) {
	o.BackupOptions = o.withDefaults()
	if err := repo.ValidName(o.Name); err != nil {
		return nil, err
	}
	if !o.Excludes.Empty() {
		return nil, fmt.Errorf("%s: exclude rules apply to file mode only", o.Name)
	}
	labels, err := o.labels()
	if err != nil {
		return nil, err
	}
	if err := checkBlockSource(o.Source); err != nil {
		return nil, fmt.Errorf("backup %s: %w", o.Name, err)
	}
	warning, err := o.checkLiveDevice()
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", o.Name, err)
	}
	r, unlock, lost, err := openForBackup(o.Repo, o.Name, o.Locked, o.held, DefaultJobs(), o.Log) // DefaultJobs: removing partials is file work
	if err != nil {
		return nil, err
	}
	defer unlock()
	store, err := r.Chunks()
	if err != nil {
		return nil, err
	}
	damaged, err := damagedChunks(r)
	if err != nil {
		return nil, err
	}
	prev, err := r.Latest(o.Name)
	if err != nil {
		return nil, err
	}
	started := o.Now()
	p, err := r.Begin(o.Name, started)
	if err != nil {
		return nil, err
	}
	p.Labels = labels
	committed := false
	defer func() {
		if !committed {
			_ = fileops.RemoveTree(p.Dir, 1)
		}
	}()
	st, reusedFrom, plan, err := o.readSource(ctx, r, store, p, prev, damaged)
	if err != nil {
		store.Discard()
		return nil, fmt.Errorf("backup %s: %w", o.Name, err)
	}
	if len(st.Healed) > 0 { // durable: Backup synced the store
		o.Log.Info("replaced damaged chunks", "count", len(st.Healed))
		if err := recordDamagedChunks(r, nil, st.Healed); err != nil {
			o.Log.Warn("healed chunks stay listed as damaged; the next backup replaces them again", "err", err)
		}
	}
	changed, err := changedSourceCheck(st.SourceChanged, o.RequireSnapshot)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %s: %w", o.Name, o.Source, err)
	}
	if changed != "" {
		warning = changed
		o.Log.Warn(warning, "volume", o.Name)
	}
	if o.BeforeCommit != nil {
		if err := o.BeforeCommit(); err != nil {
			return nil, fmt.Errorf("backup %s not kept: %w", o.Name, err)
		}
	}
	sum, err := hashFile(p.IndexPath())
	if err != nil {
		return nil, err
	}
	label := o.Source
	if o.Label != "" {
		label = o.Label
	}
	info := &repo.Info{Mode: repo.ModeBlocks, Source: label, Started: started.UTC(), Finished: o.Now().UTC(),
		Files: 1, Size: st.Size, AddedBytes: st.StoredBytes, Copied: st.NewChunks, Linked: st.ReusedChunks,
		ManifestEntries: st.Chunks, ManifestBLAKE3: sum, SourceWarning: warning, SourceChanged: changed != "",
		SourceFile: st.Source, ReusedIndex: reusedFrom, ReadBytes: st.ReadBytes}
	o.recordThin(info, plan, prev, started)
	if err := lost(); err != nil {
		return nil, fmt.Errorf("backup %s not kept: %w", o.Name, err)
	}
	if err := p.Commit(info); err != nil {
		return nil, err
	}
	committed = true
	return &Result{Info: *info, Dir: p.Dir}, nil
}

// diffOptions are the options blockdiff.Backup gets: the repository's
// chunk size, o.Jobs workers, and what the store already has.
func (o *BlockOptions) diffOptions(chunkSize int, prev *blockdiff.Index, damaged map[blockdiff.ID]bool) blockdiff.Options {
	return blockdiff.Options{ChunkSize: chunkSize, Workers: o.Jobs, Previous: prev, Damaged: damaged}
}

// checkBlockSource accepts a regular file or a block device.
func checkBlockSource(src string) error {
	if src == "" {
		return errors.New("no source given")
	}
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if !fi.Mode().IsRegular() && (fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0) {
		return fmt.Errorf("source %s is neither a disk image file nor a block device", src)
	}
	return nil
}

// restoreBlocks writes a block-mode backup's image to target (a file, made
// sparse, or a block device that is not mounted and big enough).
func restoreBlocks(ctx context.Context, r *repo.Repo, b *repo.Backup, o RestoreOptions) (*RestoreResult, error) {
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil {
		return nil, err
	}
	store, err := r.Chunks()
	if err != nil {
		return nil, err
	}
	res := &RestoreResult{Backup: b.Name + "/" + b.ID, Entries: 1}
	ro := blockdiff.RestoreOptions{Workers: o.Jobs}
	o.Progress.expect(idx.Size)
	ro.Progress = func(n int64) { res.Bytes += n; o.Progress.add(n) }
	if err := blockdiff.Restore(ctx, idx, store, o.Target, ro); err != nil {
		return res, err
	}
	return res, nil
}

// previousIndex returns the index of prev, the volume's newest complete
// backup, when it is a block backup, so that its chunks are reused
// without a lookup each; nil when there is none or it cannot be read (then every chunk is
// looked up in the store: slower, never wrong).
func previousIndex(prev *repo.Backup, log *slog.Logger) *blockdiff.Index {
	if prev == nil || !prev.Blocks() {
		return nil
	}
	idx, err := blockdiff.ReadIndex(prev.IndexPath())
	if err != nil {
		log.Warn("previous block index unreadable; looking up every chunk", "backup", prev.ID, "err", err)
		return nil
	}
	return idx
}

// verifyBlocks checks that every chunk of a block-mode backup is present
// and (for the fraction read) decodes to its id.
func (v *verifier) verifyBlocks(ctx context.Context, r *repo.Repo, b *repo.Backup, readFraction float64) error {
	name := b.Name + "/" + b.ID
	if sum, err := hashFile(b.IndexPath()); err != nil || sum != b.Info.ManifestBLAKE3 {
		v.report(Problem{Backup: name, Kind: "manifest", Detail: "index file does not match the hash in info.json"})
	}
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil {
		v.report(Problem{Backup: name, Kind: "manifest", Detail: err.Error()})
		return nil
	}
	store, err := r.Chunks()
	if err != nil {
		return err
	}
	probs, err := blockdiff.Verify(ctx, idx, store, readFraction)
	if err != nil {
		return err
	}
	var damaged []blockdiff.ID
	for _, p := range probs {
		if errors.Is(p.Err, blockdiff.ErrCorruptChunk) { // a missing one is stored again anyway
			damaged = append(damaged, p.ID)
		}
		v.report(blockProblem(name, p))
	}
	// Recorded so that the next backup reading the data replaces them.
	if err := recordDamagedChunks(r, damaged, nil); err != nil {
		return err
	}
	v.mu.Lock()
	v.entries += int64(idx.Len())
	v.bytes += idx.Size
	v.mu.Unlock()
	return nil
}

// damagedChunks reads the chunks the repository's damaged list records
// (repo.DamagedChunks) as the set blockdiff.Options.Damaged takes.
func damagedChunks(r *repo.Repo) (map[blockdiff.ID]bool, error) {
	list, err := r.DamagedChunks()
	if err != nil {
		return nil, err
	}
	set := make(map[blockdiff.ID]bool, len(list))
	for _, s := range list {
		id, err := blockdiff.ParseID(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", repo.DamagedFile, err)
		}
		set[id] = true
	}
	return set, nil
}

// recordDamagedChunks adds chunks to the repository's damaged list and
// drops others from it, durably (repo.RecordDamagedChunks).
func recordDamagedChunks(r *repo.Repo, add, drop []blockdiff.ID) error {
	hex := func(ids []blockdiff.ID) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = id.String()
		}
		return out
	}
	return r.RecordDamagedChunks(hex(add), hex(drop))
}
