package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lvback/lvback/repo"
)

// CopyOptions says which backups Copy copies from which repository to
// which.
type CopyOptions struct {
	From string // the repository copied from: a path or an s3: location
	To   string // the repository copied to, made by Init (Copy never creates one)
	// Name limits the copy to the backups of one volume name; "" copies
	// those of every name From holds.
	Name string
	// IDs limits the copy to these backups (of Name, or of any name when
	// Name is ""); none means every complete backup.
	IDs []string
	// Jobs is the number of concurrent workers: chunk copiers in block
	// mode (0: blockdiff's default), file workers in file mode (0:
	// DefaultJobs()).
	Jobs int
	// FromLocked says the caller holds From's repository lock (a run
	// holds it throughout); without it Copy takes From's lock of each
	// volume name while it copies that name's backups, so that no prune
	// removes what it reads.
	FromLocked bool
	// Log receives what Copy did and its warnings; nil discards them.
	Log *slog.Logger
	// Progress, when set, counts the bytes of the chosen backups copied
	// or found in To already; the expected total is their size.
	Progress *Progress
}

// CopyResult lists what Copy did with each backup it chose, name by
// name (in From's order of names), oldest first.
type CopyResult struct {
	Backups []CopiedBackup `json:"backups"`
}

// CopiedBackup is what Copy did with one backup.
type CopiedBackup struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	Mode string `json:"mode"` // repo.ModeFiles or repo.ModeBlocks
	// Skipped says To held the backup already (its name and ID): nothing
	// was read or written.
	Skipped bool `json:"skipped"`
	// Stored counts what the copy added to To: chunks (block mode) or
	// files copied (file mode); Bytes is their stored size.
	Stored int64 `json:"stored"`
	Bytes  int64 `json:"bytes"`
	// Reused counts what To held already: the image's chunks it had
	// (block mode), or files hard-linked (or reflinked) from its previous
	// backup of the name (file mode).
	Reused int64 `json:"reused"`
	// Read is the stored bytes of the chunks read from From (block mode).
	Read    int64   `json:"read_bytes,omitempty"`
	Seconds float64 `json:"seconds"`
}

// ErrSameRepository reports a copy whose source and target are one
// repository (the same id).
var ErrSameRepository = errors.New("source and target are the same repository")

// Copy copies complete backups from o.From to o.To incrementally, each
// under its own name and ID and with its info (repo.Info.CopiedFrom names
// o.From): a backup To holds already (that name and ID, the same mode
// and start time) is skipped; another one under that name and ID is an
// error wrapping repo.ErrBackupExists. A
// block-mode backup's chunks that To lacks are read, checked against
// their ids and stored under To's ids (blockdiff.CopyIndex); a file-mode
// backup (between local repositories only) is made the way a backup
// would, from the backup's tree with To's newest backup of the name as
// the previous one, so that unchanged files are hard-linked (or, in the
// subvolume layout, snapshotted) from it (see BackupOptions.Origin).
//
// Everything is checked before anything is written: an unknown ID wraps
// repo.ErrNotFound, an incomplete one repo.ErrIncomplete, a file-mode
// backup for a remote To or a block-mode one for a To of another chunk
// size ErrNotApplicable, one repository given twice ErrSameRepository.
// Then each name is copied under To's lock of the volume (and From's,
// unless FromLocked). A copy becomes complete in To only after what it
// wrote was verified: every chunk of a block-mode copy present with its
// stored length, a file-mode copy's manifest listing what the backup's
// lists and its tree matching it, re-read. The first failure stops Copy;
// what it copied before stays, and the result lists it.
func Copy(ctx context.Context, o CopyOptions) (*CopyResult, error) {
	o.Log = orDiscard(o.Log)
	if o.Name != "" {
		if err := repo.ValidName(o.Name); err != nil {
			return nil, err
		}
	}
	from, err := repo.Open(o.From)
	if err != nil {
		return nil, err
	}
	to, err := repo.Open(o.To)
	if err != nil {
		return nil, err
	}
	if from.ID == to.ID {
		return nil, fmt.Errorf("copy from %s to %s: %w (id %s)", from, to, ErrSameRepository, from.ID)
	}
	chosen, err := chooseCopies(from, to, o.Name, o.IDs)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, b := range chosen {
		total += b.Info.Size
	}
	o.Progress.expect(total)
	res := &CopyResult{Backups: []CopiedBackup{}}
	for len(chosen) > 0 {
		n := 1
		for n < len(chosen) && chosen[n].Name == chosen[0].Name {
			n++
		}
		if err := copyName(ctx, from, to, chosen[:n], o, res); err != nil {
			return res, err
		}
		chosen = chosen[n:]
	}
	return res, nil
}

// chooseCopies returns the complete backups of from that name and ids
// select, name by name, oldest first, after checking that each can go to
// to (see Copy).
func chooseCopies(from, to *repo.Repo, name string, ids []string) ([]repo.Backup, error) {
	names := []string{name}
	if name == "" {
		var err error
		if names, err = from.Names(); err != nil {
			return nil, err
		}
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	found, incomplete := map[string]bool{}, map[string]bool{}
	var out []repo.Backup
	for _, n := range names {
		bs, err := from.Backups(n)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			switch {
			case len(want) > 0 && !want[b.ID]:
			case !b.Complete:
				incomplete[b.ID] = true
			default:
				if err := copyable(&b, from, to); err != nil {
					return nil, err
				}
				found[b.ID] = true
				out = append(out, b)
			}
		}
	}
	for _, id := range ids {
		switch {
		case found[id]:
		case incomplete[id]:
			return nil, fmt.Errorf("backup %s in %s is %w; it cannot be copied", id, from, repo.ErrIncomplete)
		default:
			return nil, fmt.Errorf("complete backup %s %w in %s", id, repo.ErrNotFound, from)
		}
	}
	if name != "" && len(out) == 0 {
		return nil, fmt.Errorf("complete backup of %s %w in %s", name, repo.ErrNotFound, from)
	}
	return out, nil
}

// copyable refuses a backup that cannot be copied to to: a file tree to
// a remote repository, an image to one of another chunk size.
func copyable(b *repo.Backup, from, to *repo.Repo) error {
	switch {
	case !b.Blocks() && to.Remote != nil:
		return fmt.Errorf("copy %s/%s to %s: %w: it is a file-mode backup, a browsable tree of hard links that needs a POSIX "+
			"file system, and a remote repository holds block-mode backups only (copy it to a local repository, or choose "+
			"block-mode volumes with --name)", b.Name, b.ID, to, ErrNotApplicable)
	case b.Blocks() && from.BlockChunkSize != to.BlockChunkSize:
		return fmt.Errorf("copy %s/%s to %s: %w: its chunks are %d bytes, the target's %d, and chunks of different sizes never "+
			"deduplicate (make the target with lvback init --chunk-size %d)", b.Name, b.ID, to, ErrNotApplicable,
			from.BlockChunkSize, to.BlockChunkSize, from.BlockChunkSize)
	}
	return nil
}

// copyName copies bs, backups of one name, under the locks of its volume
// and appends what it did to res.
func copyName(ctx context.Context, from, to *repo.Repo, bs []repo.Backup, o CopyOptions, res *CopyResult) error {
	name := bs[0].Name
	tl, err := to.LockVolume(name)
	if err != nil {
		return err
	}
	defer tl.Unlock()
	if err := prepareVolume(to, name, DefaultJobs(), o.Log); err != nil {
		return err
	}
	if !o.FromLocked {
		fl, err := from.LockVolume(name)
		if err != nil {
			return err
		}
		defer fl.Unlock()
		if err := from.Refresh(ctx); err != nil { // what a prune removed before the lock
			return err
		}
	}
	for _, b := range bs {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := copyOne(ctx, from, to, b.ID, name, o)
		if err != nil {
			return fmt.Errorf("copy %s/%s from %s to %s: %w", name, b.ID, from, to, err)
		}
		if c.Skipped {
			o.Progress.add(b.Info.Size)
		}
		o.Log.Info("copied", "name", name, "id", b.ID, "skipped", c.Skipped, "stored", c.Stored, "bytes", c.Bytes)
		res.Backups = append(res.Backups, c)
	}
	return nil
}

// copyOne copies backup id of name unless to holds it; the caller holds
// the locks.
func copyOne(ctx context.Context, from, to *repo.Repo, id, name string, o CopyOptions) (CopiedBackup, error) {
	start := time.Now()
	b, err := from.Pick(name, id) // still there now that it is locked
	if err != nil {
		return CopiedBackup{}, err
	}
	c := CopiedBackup{Name: name, ID: id, Mode: b.Info.Mode}
	if t, err := to.Find(name, id); err == nil && t.Complete {
		if t.Info.Mode != b.Info.Mode || !t.Info.Started.Equal(b.Info.Started) {
			return c, fmt.Errorf("%w: %s holds another backup under that name and ID (%s, started %s; this one %s, started %s)",
				repo.ErrBackupExists, to, t.Info.Mode, t.Info.Started, b.Info.Mode, b.Info.Started)
		}
		c.Skipped = true
		return c, nil
	}
	if b.Blocks() {
		err = copyBlocks(ctx, from, to, b, o, &c)
	} else {
		err = copyFiles(ctx, from, to, b, o, &c)
	}
	c.Seconds = time.Since(start).Seconds()
	return c, err
}

// copyOrigin is the CopiedFrom of a backup copied from from.
func copyOrigin(from *repo.Repo, started time.Time) *repo.CopyOrigin {
	return &repo.CopyOrigin{Repo: from.String(), RepoID: from.ID, Copied: started.UTC()}
}

// copiedLabels are the labels the copy of b gets: its tags. Protection
// is not carried: it answers the retention of one repository, and the
// copy's repository has its own.
func copiedLabels(b *repo.Backup) repo.Labels { return repo.Labels{Tags: b.Labels.Tags} }
