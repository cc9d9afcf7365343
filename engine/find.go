package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// FindOptions says what Find looks for, and where.
type FindOptions struct {
	Repo string
	Name string // "" means every volume name
	// Patterns in the exclude package's syntax: one without a slash
	// matches a base name at any depth, one with a slash the whole path
	// from the backup's root. An entry matching any of them is reported.
	Patterns []string
	// Newest, when above 0, searches only that many of the newest
	// file-mode backups of each name.
	Newest int
}

// FindMatch is one backup's version of a path Find matched. The JSON keys
// are a stable interface.
type FindMatch struct {
	Name string    `json:"name"`
	ID   string    `json:"id"`
	Time time.Time `json:"time"` // the backup's start
	BrowseEntry
	// Changed is set when this version differs (type, size, content hash
	// or symlink target) from the one the previous backup holding the
	// path has; never on the first.
	Changed bool `json:"changed"`
}

// Find calls fn once per matching path of each volume name, with every
// complete file-mode backup (oldest first) holding that path; names in
// repository order, paths in manifest order. Block-mode backups hold no
// paths and are skipped. It reads the manifests side by side, one entry
// of each at a time, never a whole manifest: its memory is a manifest
// reader (about 1.5 MiB) per backup merged, whatever their size, and at
// most maxMerged backups are merged at once (a path of more backups is
// reported in several calls, each batch's oldest version unmarked). An
// unknown name wraps repo.ErrNotFound; a bad pattern exclude.ErrBadPattern.
func Find(ctx context.Context, o FindOptions, fn func([]FindMatch) error) error {
	ms, err := findMatchers(o.Patterns)
	if err != nil {
		return err
	}
	r, err := repo.Open(o.Repo)
	if err != nil {
		return err
	}
	names := []string{o.Name}
	if o.Name == "" {
		if names, err = r.Names(); err != nil {
			return err
		}
	}
	for _, n := range names {
		bs, err := r.Backups(n)
		if err != nil {
			return err
		}
		if len(bs) == 0 && o.Name != "" {
			return fmt.Errorf("volume %s: %w in %s", n, repo.ErrNotFound, r.Root)
		}
		if err := findBatches(ctx, searchable(bs, o.Newest), ms, fn); err != nil {
			return err
		}
	}
	return nil
}

// maxMerged bounds the manifests Find reads side by side. Each reader
// holds about 1.5 MiB live (the zstd decoder's 1 MiB window ring, block
// and read buffers), so 32 of them need about 50 MiB; under
// FindMemoryLimit the process stays below 100 MB (30 manifests of 100,000
// entries: 84 MB peak RSS; without the limit the garbage collector lets
// the heap grow to twice that). A name with more complete backups is
// searched in batches of maxMerged, oldest first.
const maxMerged = 32

// FindMemoryLimit is the Go memory limit (runtime/debug.SetMemoryLimit)
// under which a process running Find over maxMerged manifests stays below
// 100 MB; lvback find sets it unless GOMEMLIMIT is set.
const FindMemoryLimit = 64 << 20

// findBatches runs findIn over bs in batches of at most maxMerged
// backups, oldest first: a path held by backups of several batches is
// reported once per batch.
func findBatches(ctx context.Context, bs []repo.Backup, ms []*exclude.Matcher, fn func([]FindMatch) error) error {
	for len(bs) > 0 {
		n := min(len(bs), maxMerged)
		if err := findIn(ctx, bs[:n], ms, fn); err != nil {
			return err
		}
		bs = bs[n:]
	}
	return nil
}

// findMatchers compiles the patterns; there must be at least one.
func findMatchers(patterns []string) ([]*exclude.Matcher, error) {
	if len(patterns) == 0 {
		return nil, fmt.Errorf("%w: no pattern given", exclude.ErrBadPattern)
	}
	ms := make([]*exclude.Matcher, len(patterns))
	for i, p := range patterns {
		m, err := exclude.NewMatcher(p)
		if err != nil {
			return nil, err
		}
		ms[i] = m
	}
	return ms, nil
}

// searchable returns the complete file-mode backups of bs (oldest first),
// only the newest n of them when n > 0.
func searchable(bs []repo.Backup, n int) []repo.Backup {
	var out []repo.Backup
	for _, b := range bs {
		if b.Complete && !b.Blocks() {
			out = append(out, b)
		}
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// cursor is one backup's manifest in a Find merge, positioned at its next
// matching entry (nil when there is none left).
type cursor struct {
	b   repo.Backup
	mr  *manifest.Reader
	cur *manifest.Entry
	ms  []*exclude.Matcher
}

// advance moves c to its next matching entry.
func (c *cursor) advance() error {
	for {
		e, err := c.mr.Next()
		if errors.Is(err, io.EOF) {
			c.cur = nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("backup %s/%s: read manifest: %w", c.b.Name, c.b.ID, err)
		}
		for _, m := range c.ms {
			if m.Match(e.Path, e.Type == manifest.TypeDir) {
				c.cur = e
				return nil
			}
		}
	}
}

// findIn merges the matching entries of the backups bs (one name's,
// oldest first) in manifest order and calls fn once per path.
func findIn(ctx context.Context, bs []repo.Backup, ms []*exclude.Matcher, fn func([]FindMatch) error) error {
	cs := make([]*cursor, 0, len(bs))
	defer func() {
		for _, c := range cs {
			c.mr.Close()
		}
	}()
	for _, b := range bs {
		mr, err := manifest.Open(b.ManifestPath())
		if err != nil {
			return err
		}
		c := &cursor{b: b, mr: mr, ms: ms}
		cs = append(cs, c)
		if err := c.advance(); err != nil {
			return err
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		group, err := nextGroup(cs)
		if err != nil || group == nil {
			return err
		}
		if err := fn(group); err != nil {
			return err
		}
	}
}

// nextGroup takes the smallest path the cursors are at out of every
// cursor at it and returns its versions, oldest first; nil at the end.
func nextGroup(cs []*cursor) ([]FindMatch, error) {
	var least *manifest.Entry
	for _, c := range cs {
		if c.cur != nil && (least == nil || manifest.Compare(c.cur.Path, least.Path) < 0) {
			least = c.cur
		}
	}
	if least == nil {
		return nil, nil
	}
	path := least.Path
	var group []FindMatch
	var prev *manifest.Entry
	for _, c := range cs {
		if c.cur == nil || c.cur.Path != path {
			continue
		}
		e := c.cur
		group = append(group, FindMatch{Name: c.b.Name, ID: c.b.ID, Time: c.b.Info.Started.UTC(),
			BrowseEntry: browseEntry(e), Changed: prev != nil && differs(prev, e)})
		prev = e
		if err := c.advance(); err != nil {
			return nil, err
		}
	}
	return group, nil
}

// differs reports whether two versions of a path differ in what find
// compares: type, size, content hash and symlink target.
func differs(a, b *manifest.Entry) bool {
	return a.Type != b.Type || a.Size != b.Size || a.Hash != b.Hash || a.Target != b.Target
}
