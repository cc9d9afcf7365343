package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lvback/lvback/internal/durable"
	"github.com/lvback/lvback/objstore"
)

// Pending is a backup being built under its temporary name ID.partial.
// Nothing lists it as complete until Commit renames it into place.
type Pending struct {
	Name string
	ID   string
	Dir  string // the temporary directory: tree/ and the manifest go here
	// Labels are written with the backup (LabelsFile) before it is
	// committed, so a complete backup has them from the start.
	Labels Labels
	dst    string
	// remote is the store of a remote repository: Commit uploads the
	// index and the info there.
	remote objstore.Store
}

// TreePath is where the run writes the browsable copy.
func (p *Pending) TreePath() string { return filepath.Join(p.Dir, TreeDir) }

// ManifestPath is where the run writes the manifest.
func (p *Pending) ManifestPath() string { return filepath.Join(p.Dir, ManifestFile) }

// ExcludedPath is where the run lists the entries its exclude rules left out.
func (p *Pending) ExcludedPath() string { return filepath.Join(p.Dir, ExcludedFile) }

// IndexPath is where a block-mode run writes its chunk index.
func (p *Pending) IndexPath() string { return filepath.Join(p.Dir, IndexFile) }

// Begin picks a new ID for name, later than every existing one (a second
// run in the same second gets a -2, -3, ... suffix up to maxSeq, then the
// next second), and creates its temporary directory. The caller holds the
// lock.
func (r *Repo) Begin(name string, now time.Time) (*Pending, error) {
	bs, err := r.Backups(name)
	if err != nil {
		return nil, err
	}
	return r.begin(name, nextID(bs, now))
}

// ErrBackupExists reports a backup begun with an ID its name has already.
var ErrBackupExists = errors.New("backup exists already")

// BeginID is Begin for a backup that must have the given ID (a copy
// keeps the ID of the backup it copies): it refuses an id that Begin
// could not make, and one name has already, complete or not (wrapping
// ErrBackupExists; in a remote repository also one the store holds
// committed). The caller holds the lock, so a partial backup it finds is
// one a killed run left: remove those first.
func (r *Repo) BeginID(name, id string) (*Pending, error) {
	if _, _, ok := parseID(id); !ok {
		return nil, fmt.Errorf("begin backup %s: invalid backup id %q", name, id)
	}
	bs, err := r.Backups(name)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		if b.ID == id {
			return nil, fmt.Errorf("begin backup %s/%s in %s: %w", name, id, r, ErrBackupExists)
		}
	}
	if r.Remote != nil {
		ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
		defer cancel()
		_, err := r.Remote.Stat(ctx, path.Join(backupsDir, name, id, InfoFile))
		if err == nil {
			return nil, fmt.Errorf("begin backup %s/%s in %s: %w", name, id, r, ErrBackupExists)
		}
		if !errors.Is(err, objstore.ErrNotExist) {
			return nil, fmt.Errorf("begin backup %s/%s in %s: %w", name, id, r, err)
		}
	}
	return r.begin(name, id)
}

// begin creates the temporary directory of backup id of name.
func (r *Repo) begin(name, id string) (*Pending, error) {
	dir := filepath.Join(r.Root, backupsDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	p := &Pending{Name: name, ID: id, Dir: filepath.Join(dir, id+partialExt), dst: filepath.Join(dir, id), remote: r.Remote}
	if err := os.Mkdir(p.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("begin backup: %w", err)
	}
	return p, nil
}

// nextID is the ID after the last of bs (in ID order) for a run started at
// now: now to the second, or the last ID's second with the next sequence
// number when the clock has not passed it (a clock that stepped back
// cannot make a new backup sort before an older one), or the second after
// when that second's sequence numbers are used up. Every ID it returns
// parses back with parseID.
func nextID(bs []Backup, now time.Time) string {
	t := now.UTC().Truncate(time.Second)
	seq := 1
	if n := len(bs); n > 0 && !bs[n-1].Time.Before(t) {
		t, seq = bs[n-1].Time, bs[n-1].Seq+1
		if seq > maxSeq {
			t, seq = t.Add(time.Second), 1
		}
	}
	id := t.Format(idLayout)
	if seq > 1 {
		id += "-" + strconv.Itoa(seq)
	}
	return id
}

// Commit makes the backup complete: it writes its labels (if any) and
// then info durably, renames the temporary directory to its final name
// and fsyncs the parent. The caller must have made the tree and manifest
// durable first. In a remote repository the backup is complete once
// Commit uploaded the index, the labels and then the info (the caller
// stored every chunk first); the local rename only updates the cache.
func (p *Pending) Commit(info *Info) error {
	info.Format, info.Name, info.ID = "lvback-backup", p.Name, p.ID
	if err := p.Labels.check(); err != nil {
		return fmt.Errorf("commit backup: %w", err)
	}
	if err := writeLabels(p.Dir, p.Labels); err != nil {
		return fmt.Errorf("write backup labels: %w", err)
	}
	if err := writeJSON(filepath.Join(p.Dir, InfoFile), info); err != nil {
		return fmt.Errorf("write backup info: %w", err)
	}
	if p.remote != nil {
		if info.Mode != ModeBlocks {
			return fmt.Errorf("commit backup: %s is remote, and only block-mode backups can be", p.remote)
		}
		ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
		defer cancel()
		if err := uploadBackup(ctx, p.remote, p.Name, p.ID, p.Dir); err != nil {
			return fmt.Errorf("commit backup to %s: %w", p.remote, err)
		}
	}
	if _, err := os.Lstat(p.dst); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("commit backup: %s already exists", p.dst)
	}
	err := durable.Rename(p.Dir, p.dst)
	var notRenamed *os.LinkError
	if !errors.As(err, &notRenamed) {
		p.Dir = p.dst // renamed, even when the fsync failed
	}
	if err != nil {
		return fmt.Errorf("commit backup: %w", err)
	}
	return nil
}

// Partials lists the ID.partial directories of name: backups left by a
// crash, or by a run still going (hold the lock before removing them). A
// directory with a final name is never listed here, even when its info is
// unreadable: only lvback's own temporary names are safe to delete.
func (r *Repo) Partials(name string) ([]Backup, error) {
	bs, err := r.Backups(name)
	if err != nil {
		return nil, err
	}
	var out []Backup
	for _, b := range bs {
		if b.Partial {
			out = append(out, b)
		}
	}
	return out, nil
}
