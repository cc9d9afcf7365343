package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/lvback/lvback/internal/durable"
	"github.com/lvback/lvback/internal/tags"
	"github.com/lvback/lvback/objstore"
)

// LabelsFile holds a backup's labels beside its info.json. info.json is
// the immutable commit marker; the labels change after the commit (tag,
// protect), so they live in a file of their own, absent when a backup has
// none. A backup made with tags has the file before it is committed.
const LabelsFile = "labels.json"

// Labels are what an operator attaches to a backup after (or while)
// making it: tags that list and prune select by, and protection, which
// keeps the backup whatever a prune's rules say.
type Labels struct {
	Tags      []string `json:"tags,omitempty"` // sorted, no duplicates, each tags.Valid
	Protected bool     `json:"protected,omitempty"`
}

// Empty reports whether l says nothing (then no labels file is kept).
func (l Labels) Empty() bool { return len(l.Tags) == 0 && !l.Protected }

// Equal reports whether l and o say the same.
func (l Labels) Equal(o Labels) bool {
	return l.Protected == o.Protected && slices.Equal(l.Tags, o.Tags)
}

// check refuses labels that a labels file must not hold.
func (l Labels) check() error {
	for _, t := range l.Tags {
		if err := tags.Valid(t); err != nil {
			return err
		}
	}
	if !slices.Equal(l.Tags, tags.Normalize(l.Tags)) {
		return fmt.Errorf("tags %q not sorted without duplicates", l.Tags)
	}
	return nil
}

// LabelsPath is the backup's labels file.
func (b *Backup) LabelsPath() string { return filepath.Join(b.Dir, LabelsFile) }

// readLabels reads the labels file of the backup in dir; a missing one is
// no labels.
func readLabels(dir string) (Labels, error) {
	var l Labels
	data, err := os.ReadFile(filepath.Join(dir, LabelsFile))
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return l, fmt.Errorf("%s: %w", filepath.Join(dir, LabelsFile), err)
	}
	if err := l.check(); err != nil {
		return l, fmt.Errorf("%s: %w", filepath.Join(dir, LabelsFile), err)
	}
	return l, nil
}

// writeLabels makes l the labels of the backup in dir, durably: the file
// is replaced (durable.WriteFile), or removed when l is empty.
func writeLabels(dir string, l Labels) error {
	p := filepath.Join(dir, LabelsFile)
	if l.Empty() {
		return durable.Remove(p)
	}
	return writeJSON(p, l)
}

// SetLabels replaces the labels of complete backup b with l, durably,
// and sets b.Labels. In a remote repository the store's labels object
// is replaced (or deleted) first, then the cache. The caller holds b's
// volume lock (LockVolume), so no prune decides on the old labels
// meanwhile.
func (r *Repo) SetLabels(ctx context.Context, b *Backup, l Labels) error {
	if err := l.check(); err != nil {
		return err
	}
	if !b.Complete || b.Partial || b.Dir != filepath.Join(r.Root, backupsDir, b.Name, b.ID) {
		return fmt.Errorf("label %s/%s: not a complete backup of %s", b.Name, b.ID, r)
	}
	if r.Remote != nil {
		if err := putLabels(ctx, r, b.Name, b.ID, l); err != nil {
			return err
		}
	}
	if err := writeLabels(b.Dir, l); err != nil {
		return fmt.Errorf("label %s/%s: %w", b.Name, b.ID, err)
	}
	b.Labels, b.LabelsErr = l, nil
	return nil
}

// putLabels replaces the labels object of a remote backup, or deletes it
// for empty labels.
func putLabels(ctx context.Context, r *Repo, name, id string, l Labels) error {
	obj := path.Join(backupsDir, name, id, LabelsFile)
	if l.Empty() {
		if err := r.Remote.Delete(ctx, obj); err != nil {
			return fmt.Errorf("label %s/%s in %s: %w", name, id, r, err)
		}
		return nil
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := r.Remote.Put(ctx, obj, append(data, '\n')); err != nil {
		return fmt.Errorf("label %s/%s in %s: %w", name, id, r, err)
	}
	return nil
}

// RefreshLabels reads complete backup b's labels again and sets
// b.Labels and b.LabelsErr. In a remote repository it fetches the
// store's labels object itself into the cache first: the cache notices a
// changed object by its size and time only, so a retag to a same-size
// set within the store clock's second could go unseen. Prune calls it
// under the volume's lock before it decides, so it never deletes a
// backup on labels the store no longer holds.
func (r *Repo) RefreshLabels(ctx context.Context, b *Backup) error {
	if r.Remote != nil {
		data, err := r.Remote.Get(ctx, path.Join(backupsDir, b.Name, b.ID, LabelsFile))
		switch {
		case errors.Is(err, objstore.ErrNotExist):
			err = durable.Remove(b.LabelsPath())
		case err == nil:
			err = durable.WriteFile(b.LabelsPath(), data, 0o644)
		}
		if err != nil {
			return fmt.Errorf("labels of %s/%s in %s: %w", b.Name, b.ID, r, err)
		}
	}
	b.Labels, b.LabelsErr = readLabels(b.Dir)
	return nil
}
