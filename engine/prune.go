package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/retention"
)

// PruneOptions says which backups a prune considers and how it decides.
type PruneOptions struct {
	Repo   string
	Name   string // one volume name; "" means every name in the repository
	Policy retention.Policy
	DryRun bool           // decide and report, touch nothing
	Loc    *time.Location `json:"-"` // for day/week/month buckets; nil means time.Local
	Jobs   int
	Locked bool // the caller already holds the repository lock
	// Pinned lists backup IDs never removed whatever the policy says: run
	// passes the backups it has just made.
	Pinned []string
	Log    *slog.Logger `json:"-"`
	// Progress, when set, counts the backups removed.
	Progress *Progress `json:"-"`
}

// PruneDecision is the fate of one complete backup.
type PruneDecision struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Keep    bool      `json:"keep"`
	Reasons []string  `json:"reasons,omitempty"`
	Removed bool      `json:"removed"` // actually deleted (false in a dry run)
	// Tags and Protected are the backup's labels (repo.Labels).
	Tags      []string `json:"tags,omitempty"`
	Protected bool     `json:"protected,omitempty"`
}

// PruneResult lists every complete backup considered, newest first per
// name, and the leftovers of interrupted prunes that were finished.
type PruneResult struct {
	DryRun    bool            `json:"dry_run"`
	Decisions []PruneDecision `json:"decisions"`
	Finished  []string        `json:"finished_interrupted,omitempty"`
	// ChunksRemoved counts block-mode chunks no remaining backup used.
	ChunksRemoved int `json:"chunks_removed"`
	// SweepSkipped (remote repositories) says why unused chunks were not
	// collected this time: a backup held the repository; the next prune
	// collects them.
	SweepSkipped string `json:"sweep_skipped,omitempty"`
}

// Prune applies a retention policy per volume name. Only complete backups
// that lvback made are considered or deleted; incomplete backups, unknown
// directories and files are never touched. The newest complete backup of
// every name (the one `restore --id latest` picks), the newest one without
// skipped entries, every Pinned and every protected one (and one whose
// labels cannot be read) are always kept. Backups are ranked
// by ID, the repository's one order, never by the times in info.json, and
// bucketed by the time in their ID: a clock that stepped back cannot make
// prune take an older backup for the newest.
// Each deletion first renames the backup out of the listing (atomic), then
// removes its tree in parallel; a prune interrupted in between is finished
// by the next one. It holds the repository lock, so it never races a backup.
func Prune(ctx context.Context, o PruneOptions) (*PruneResult, error) {
	if err := o.Policy.Validate(); err != nil {
		return nil, err
	}
	if o.Loc == nil {
		o.Loc = time.Local
	}
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs()
	}
	o.Log = orDiscard(o.Log)
	r, err := repo.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	if !o.Locked {
		return prunePerVolume(ctx, r, o)
	}
	unlock, err := lockUnlessHeld(r, o.Locked)
	if err != nil {
		return nil, err
	}
	defer unlock()
	names := []string{o.Name}
	if o.Name == "" {
		if names, err = r.Names(); err != nil {
			return nil, err
		}
	} else if err := repo.ValidName(o.Name); err != nil {
		return nil, err
	}
	res := &PruneResult{DryRun: o.DryRun, Decisions: []PruneDecision{}}
	for _, name := range names {
		if err := pruneName(ctx, r, name, o, res); err != nil {
			return res, fmt.Errorf("prune %s: %w", name, err)
		}
	}
	if !o.DryRun {
		n, err := collectChunks(ctx, r)
		res.ChunksRemoved = n
		if err != nil {
			return res, fmt.Errorf("collect unused chunks: %w", err)
		}
	}
	return res, nil
}

// prunePerVolume is Prune when the caller does not hold the repository
// lock: other processes and hosts may back up meanwhile. Each name's
// backups are removed under that volume's lock (backups of other volumes
// go on), then unused chunks are collected under the exclusive lock,
// after a remote repository's cache is brought up to date, so that every
// committed index marks its chunks. When a backup holds the repository
// the collection is skipped and the next prune does it.
func prunePerVolume(ctx context.Context, r *repo.Repo, o PruneOptions) (*PruneResult, error) {
	names := []string{o.Name}
	if o.Name == "" {
		var err error
		if names, err = r.Names(); err != nil {
			return nil, err
		}
	} else if err := repo.ValidName(o.Name); err != nil {
		return nil, err
	}
	res := &PruneResult{DryRun: o.DryRun, Decisions: []PruneDecision{}}
	for _, name := range names {
		l, err := r.LockVolume(name)
		if err != nil {
			return res, err
		}
		if err = r.Refresh(ctx); err == nil { // what another host committed before the lock
			err = pruneName(ctx, r, name, o, res)
		}
		l.Unlock()
		if err != nil {
			return res, fmt.Errorf("prune %s: %w", name, err)
		}
	}
	if o.DryRun {
		return res, nil
	}
	l, err := r.Lock()
	if errors.Is(err, repo.ErrLocked) {
		res.SweepSkipped = err.Error()
		o.Log.Warn("unused chunks not collected this time: a backup is running", "err", err)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	defer l.Unlock()
	if err := r.Refresh(ctx); err != nil {
		return res, err
	}
	n, err := collectChunks(ctx, r)
	res.ChunksRemoved = n
	if err != nil {
		return res, fmt.Errorf("collect unused chunks: %w", err)
	}
	return res, nil
}

func pruneName(ctx context.Context, r *repo.Repo, name string, o PruneOptions, res *PruneResult) error {
	if !o.DryRun {
		retired, err := r.Retired(name)
		if err != nil {
			return err
		}
		for _, dir := range retired {
			o.Log.Info("finishing an interrupted prune", "dir", dir)
			if err := removeBackupDir(dir, o.Jobs); err != nil {
				return err
			}
			res.Finished = append(res.Finished, dir)
		}
	}
	all, err := r.Backups(name)
	if err != nil {
		return err
	}
	byID := map[string]*repo.Backup{}
	var items []retention.Backup
	for i := range all {
		b := &all[i]
		if !b.Complete {
			continue // never counted, never deleted
		}
		byID[b.ID] = b
		if r.Remote != nil { // the store's labels, not the cache's (see RefreshLabels)
			if err := r.RefreshLabels(ctx, b); err != nil {
				return err
			}
		}
		items = append(items, retentionItem(b, o.Pinned, o.Log)) // all is in ID order, oldest first
	}
	for _, d := range retention.Apply(o.Policy, items, o.Loc) {
		pd := PruneDecision{Name: name, ID: d.ID, Time: d.Time, Keep: d.Keep, Reasons: d.Reasons,
			Tags: d.Tags, Protected: d.Protected}
		if !d.Keep && !o.DryRun {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := removeBackup(r, byID[d.ID], o.Jobs); err != nil {
				return err
			}
			pd.Removed = true
			o.Progress.add(0)
		}
		res.Decisions = append(res.Decisions, pd)
	}
	return nil
}

// retentionItem is what the keep rules see of complete backup b. A
// backup whose labels cannot be read is pinned: it may be protected.
func retentionItem(b *repo.Backup, pinned []string, log *slog.Logger) retention.Backup {
	item := retention.Backup{ID: b.ID, Time: b.Time, Good: b.Info.Errors == 0,
		Protected: b.Labels.Protected, Tags: b.Labels.Tags}
	switch {
	case slices.Contains(pinned, b.ID):
		item.Pin = "made in this run"
	case b.LabelsErr != nil:
		item.Pin = "labels unreadable"
		log.Warn("kept: its labels cannot be read, so it may be protected", "backup", b.Name+"/"+b.ID, "err", b.LabelsErr)
	}
	return item
}

// removeBackup retires a backup (it stops being listed at once) and then
// deletes its files.
func removeBackup(r *repo.Repo, b *repo.Backup, jobs int) error {
	dir, err := r.Retire(b)
	if err != nil {
		return err
	}
	if err := removeBackupDir(dir, jobs); err != nil {
		return fmt.Errorf("remove %s: %w (the next prune finishes it)", dir, err)
	}
	return nil
}

// collectChunks deletes the block-mode chunks that no backup of any name
// references any more (mark, then sweep). The caller holds the lock, so no
// backup is adding chunks meanwhile; indexes of incomplete backups count
// as references too. A crash midway only leaves garbage for next time.
func collectChunks(ctx context.Context, r *repo.Repo) (int, error) {
	if _, err := os.Stat(r.ChunksDir()); err != nil && r.Remote == nil {
		return 0, nil // no block-mode backup was ever made
	}
	live := &blockdiff.LiveSet{} // 8 bytes a distinct chunk, whatever the image sizes
	names, err := r.Names()
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		bs, err := r.Backups(name)
		if err != nil {
			return 0, err
		}
		for _, b := range bs {
			if err := markChunks(b.IndexPath(), live); err != nil {
				return 0, fmt.Errorf("%s/%s: %w (nothing collected)", b.Name, b.ID, err)
			}
		}
	}
	store, err := r.Chunks()
	if err != nil {
		return 0, err
	}
	if _, err := store.RemoveTemp(ctx); err != nil {
		return 0, err
	}
	return blockdiff.GC(ctx, store, live.Has)
}

// markChunks adds the chunks of the index at path to live; a backup
// without an index (a file tree) adds nothing.
func markChunks(path string, live *blockdiff.LiveSet) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	idx, err := blockdiff.ReadIndex(path)
	if err != nil {
		return err // never sweep with an unreadable index: its chunks may be needed
	}
	return idx.Chunks(func(id blockdiff.ID) error { live.Add(id); return nil })
}
