package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
)

// BlockRepairOptions says which block-mode backups to heal from which
// image: `verify --repair --source IMAGE`.
type BlockRepairOptions struct {
	Repo   string
	Name   string // the volume; required
	ID     string // one backup of Name; "" means every complete one
	Source string // a disk image or block device holding the backed-up image
	Locked bool   // the caller already holds the repository lock
	Log    *slog.Logger
}

// BlockRepairReport is what RepairBlocks did. Healed problems are fixed;
// Unhealable ones remain (the source does not hold those chunks' data).
type BlockRepairReport struct {
	Backups    []string  `json:"backups"`
	Checked    int64     `json:"checked"` // distinct chunks checked, summed over backups
	Healed     []Problem `json:"healed"`
	Unhealable []Problem `json:"unhealable"`
}

// RepairBlocks heals the chosen block-mode backups from o.Source: every
// chunk a backup references that the store lacks or holds damaged is
// read from the source at the offset the backup's index names, checked
// against its id and stored again (see blockdiff.RepairFromImage); the
// healed ones leave the repository's damaged list (repo.DamagedFile). It takes the
// repository lock (unless o.Locked), since it writes chunks. File-mode
// backups among the chosen ones are skipped. An error means it could not
// finish; unhealable chunks are not an error but are listed.
func RepairBlocks(ctx context.Context, o BlockRepairOptions) (*BlockRepairReport, error) {
	o.Log = orDiscard(o.Log)
	if o.Name == "" || o.Source == "" {
		return nil, errors.New("repair: a volume name and a source image are required")
	}
	r, err := repo.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	unlock, err := lockUnlessHeld(r, o.Locked)
	if err != nil {
		return nil, err
	}
	defer unlock()
	backups, err := chooseBackups(r, o.Name, o.ID)
	if err != nil {
		return nil, err
	}
	store, err := r.Chunks()
	if err != nil {
		return nil, err
	}
	rep := &BlockRepairReport{Backups: []string{}, Healed: []Problem{}, Unhealable: []Problem{}}
	for i := range backups {
		if b := &backups[i]; b.Blocks() {
			if err := repairBackup(ctx, r, store, b, o, rep); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// repairBackup heals one block-mode backup and adds to rep.
func repairBackup(ctx context.Context, r *repo.Repo, store repo.ChunkStore, b *repo.Backup, o BlockRepairOptions, rep *BlockRepairReport) error {
	name := b.Name + "/" + b.ID
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil {
		return fmt.Errorf("repair %s: %w", name, err)
	}
	res, err := blockdiff.RepairFromImage(ctx, store, idx, o.Source)
	if err != nil {
		return fmt.Errorf("repair %s: %w", name, err)
	}
	rep.Backups = append(rep.Backups, name)
	rep.Checked += res.Checked
	healed := make([]blockdiff.ID, 0, len(res.Healed))
	for _, p := range res.Healed {
		healed = append(healed, p.ID)
		rep.Healed = append(rep.Healed, blockProblem(name, p))
	}
	for _, p := range res.Unhealable {
		rep.Unhealable = append(rep.Unhealable, blockProblem(name, p))
	}
	o.Log.Info("repaired block backup", "backup", name, "healed", len(res.Healed), "unhealable", len(res.Unhealable))
	return recordDamagedChunks(r, nil, healed)
}

// blockProblem describes a chunk problem of backup name as verify does.
func blockProblem(name string, p blockdiff.Problem) Problem {
	kind := "corrupt"
	if errors.Is(p.Err, blockdiff.ErrNotFound) {
		kind = "missing"
	}
	return Problem{Backup: name, Path: fmt.Sprintf("chunk %d at offset %d", p.Chunk, p.Offset), Kind: kind,
		Detail: fmt.Sprintf("%s: %v", p.ID, p.Err)}
}
