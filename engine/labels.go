package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/lvback/lvback/internal/tags"
	"github.com/lvback/lvback/repo"
)

// LabelOptions says which backups Label changes and how (tag, protect,
// unprotect).
type LabelOptions struct {
	Repo string
	Name string
	// IDs are complete backups of Name ("latest": the newest); every one
	// is checked before any is changed.
	IDs []string
	// Add and Remove are tags added and removed; with Replace the tags
	// become Set instead (restic's tag --set). Each value is one tag or
	// several separated by commas (tags.Parse).
	Add, Remove, Set []string
	Replace          bool
	// Protect, when set, protects (true) or unprotects (false).
	Protect *bool
}

// Labeled is one backup's labels after Label.
type Labeled struct {
	Name      string   `json:"name"`
	ID        string   `json:"id"`
	Tags      []string `json:"tags"`
	Protected bool     `json:"protected"`
	Changed   bool     `json:"changed"` // false when it had these labels already
}

// Label changes the tags and protection of backups of one volume name,
// under that volume's lock, so no prune of the name decides on the old
// labels meanwhile; each change is durable when Label returns (in a
// remote repository, in the store first). An unknown or incomplete ID
// changes nothing (repo.ErrNotFound, repo.ErrIncomplete).
func Label(ctx context.Context, o LabelOptions) ([]Labeled, error) {
	for _, ts := range []*[]string{&o.Add, &o.Remove, &o.Set} {
		parsed, err := tags.Parse(*ts)
		if err != nil {
			return nil, err
		}
		*ts = parsed
	}
	r, err := repo.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	l, err := r.LockVolume(o.Name)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if err := r.Refresh(ctx); err != nil { // what another host labelled before the lock
		return nil, err
	}
	bs, err := pickAll(r, o.Name, o.IDs)
	if err != nil {
		return nil, err
	}
	out := make([]Labeled, 0, len(bs))
	for _, b := range bs {
		want := o.apply(b.Labels)
		changed := !want.Equal(b.Labels)
		if changed {
			if err := l.Err(); err != nil {
				return out, err
			}
			if err := r.SetLabels(ctx, b, want); err != nil {
				return out, err
			}
		}
		out = append(out, Labeled{Name: b.Name, ID: b.ID, Tags: nonNil(want.Tags), Protected: want.Protected, Changed: changed})
	}
	return out, nil
}

// pickAll returns the complete backups of name with the given ids, each
// once, or the first id's error.
func pickAll(r *repo.Repo, name string, ids []string) ([]*repo.Backup, error) {
	var out []*repo.Backup
	for _, id := range ids {
		b, err := r.Pick(name, id)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(o *repo.Backup) bool { return o.ID == b.ID }) {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no backup id given")
	}
	return out, nil
}

// apply returns the labels o makes of l.
func (o *LabelOptions) apply(l repo.Labels) repo.Labels {
	ts := slices.Clone(l.Tags)
	if o.Replace {
		ts = slices.Clone(o.Set)
	}
	ts = append(ts, o.Add...)
	ts = slices.DeleteFunc(ts, func(t string) bool { return slices.Contains(o.Remove, t) })
	l.Tags = tags.Normalize(ts)
	if o.Protect != nil {
		l.Protected = *o.Protect
	}
	return l
}

// nonNil returns ts, or an empty slice for nil (JSON [] rather than null).
func nonNil(ts []string) []string {
	if ts == nil {
		return []string{}
	}
	return ts
}
