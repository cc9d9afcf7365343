package engine

import (
	"sort"
	"time"

	"github.com/lvback/lvback/internal/tags"
	"github.com/lvback/lvback/repo"
)

// ListItem is one backup as `lvback list --json` prints it; the keys are
// a stable interface.
type ListItem struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Mode       string    `json:"mode"`
	Complete   bool      `json:"complete"`
	Files      int64     `json:"files"`
	Size       int64     `json:"size"`
	AddedBytes int64     `json:"added_bytes"`
	Errors     int64     `json:"errors"`
	Path       string    `json:"path"` // the browsable tree; a block backup's index (it has no tree)
	// ReadBytes, ReadMode and KeptSnapshotBytes are a block backup's (see
	// repo.Info): what it read of its source, how, and what the thin
	// snapshot kept before it held alone in its pool.
	ReadBytes         int64  `json:"read_bytes,omitempty"`
	ReadMode          string `json:"read_mode,omitempty"`
	KeptSnapshotBytes int64  `json:"kept_snapshot_bytes,omitempty"`
	// Tags and Protected are a complete backup's labels (repo.Labels).
	Tags      []string `json:"tags"`
	Protected bool     `json:"protected"`
}

// List returns the backups of name, or of every name for "", complete or
// not, ordered by start time, oldest first. With tagLists (see
// tags.ParseLists) only the complete backups one list matches.
func List(repoPath, name string, tagLists []string) ([]ListItem, error) {
	tagLists, err := tags.ParseLists(tagLists)
	if err != nil {
		return nil, err
	}
	r, err := repo.Open(repoPath)
	if err != nil {
		return nil, err
	}
	names := []string{name}
	if name == "" {
		if names, err = r.Names(); err != nil {
			return nil, err
		}
	}
	items := []ListItem{}
	for _, n := range names {
		bs, err := r.Backups(n)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if _, ok := tags.Match(b.Labels.Tags, tagLists); len(tagLists) > 0 && !ok {
				continue
			}
			it := ListItem{Name: b.Name, ID: b.ID, Time: b.Time, Mode: repo.ModeFiles, Complete: b.Complete, Path: b.TreePath(),
				Tags: nonNil(b.Labels.Tags), Protected: b.Labels.Protected}
			if b.Info != nil {
				it.Time, it.Mode = b.Info.Started, b.Info.Mode
				it.Files, it.Size, it.AddedBytes, it.Errors = b.Info.Files, b.Info.Size, b.Info.AddedBytes, b.Info.Errors
				it.ReadBytes, it.ReadMode, it.KeptSnapshotBytes = b.Info.ReadBytes, b.Info.ReadMode, b.Info.KeptSnapshotBytes
			}
			if b.Blocks() {
				it.Path = b.IndexPath()
			}
			items = append(items, it)
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Time.Before(items[j].Time) })
	return items, nil
}

// LastSuccess returns when the newest complete backup of name finished;
// the zero time when there is none or the repository cannot be read.
func LastSuccess(repoPath, name string) time.Time {
	r, err := repo.Open(repoPath)
	if err != nil {
		return time.Time{}
	}
	b, err := r.Latest(name)
	if err != nil || b == nil {
		return time.Time{}
	}
	return b.Info.Finished
}
