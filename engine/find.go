package engine

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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
// reader (about 1.5 MiB) per backup merged, whatever their size, at most
// maxMerged (more backups are merged in batches through temporary files
// holding their matches: see findBatches). An unknown name wraps repo.ErrNotFound; a bad pattern exclude.ErrBadPattern.
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
// entries: 71 MB peak RSS; without the limit the garbage collector lets
// the heap grow to twice that). A name with more complete backups is
// searched in batches (see findBatches).
const maxMerged = 32

// FindMemoryLimit is the Go memory limit (runtime/debug.SetMemoryLimit)
// under which a process running Find over maxMerged manifests stays below
// 100 MB; lvback find sets it unless GOMEMLIMIT is set.
const FindMemoryLimit = 64 << 20

// findBatches reports the matches of bs (one name's, oldest first): all
// merged at once when they are at most maxMerged, else in batches of
// maxMerged whose groups are spilled, in path order, to unlinked
// temporary files, then merged again so that each path is still one
// group holding every backup's version. Memory stays that of maxMerged
// readers; the temporary files hold the matches only.
func findBatches(ctx context.Context, bs []repo.Backup, ms []*exclude.Matcher, fn func([]FindMatch) error) error {
	if len(bs) <= maxMerged {
		return findIn(ctx, bs, ms, fn)
	}
	var runs []*spillRun
	defer func() {
		for _, r := range runs {
			r.f.Close()
		}
	}()
	for len(bs) > 0 {
		n := min(len(bs), maxMerged)
		r, err := spillBatch(ctx, bs[:n], ms)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		bs = bs[n:]
	}
	return mergeRuns(ctx, runs, fn)
}

// spillRun is one batch's groups in a temporary file, positioned at its
// next group (nil at the end).
type spillRun struct {
	f   *os.File
	dec *gob.Decoder
	cur []FindMatch
}

// spillBatch writes the groups of the batch bs to an unlinked temporary
// file (gob keeps paths that are not UTF-8 as they are) and returns it,
// read back from its first group.
func spillBatch(ctx context.Context, bs []repo.Backup, ms []*exclude.Matcher) (*spillRun, error) {
	f, err := os.CreateTemp("", "lvback-find-*")
	if err != nil {
		return nil, fmt.Errorf("find: spill file: %w", err)
	}
	_ = os.Remove(f.Name()) // gone with the process, whatever happens
	r := &spillRun{f: f}
	w := bufio.NewWriter(f)
	enc := gob.NewEncoder(w)
	if err := findIn(ctx, bs, ms, func(g []FindMatch) error { return enc.Encode(g) }); err != nil {
		f.Close()
		return nil, err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("find: spill file: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	r.dec = gob.NewDecoder(bufio.NewReader(f))
	if err := r.advance(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// advance reads r's next group.
func (r *spillRun) advance() error {
	var g []FindMatch
	err := r.dec.Decode(&g)
	if errors.Is(err, io.EOF) {
		r.cur = nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("find: read spill file: %w", err)
	}
	r.cur = g
	return nil
}

// mergeRuns merges the batches' groups (runs in backup order) by path and
// calls fn once per path with every version, oldest first; the first
// version of a batch is compared with the last one before it.
func mergeRuns(ctx context.Context, runs []*spillRun, fn func([]FindMatch) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var least string
		found := false
		for _, r := range runs {
			if r.cur != nil && (!found || manifest.Compare(r.cur[0].Path, least) < 0) {
				least, found = r.cur[0].Path, true
			}
		}
		if !found {
			return nil
		}
		var group []FindMatch
		for _, r := range runs {
			if r.cur == nil || r.cur[0].Path != least {
				continue
			}
			if len(group) > 0 {
				r.cur[0].Changed = versionDiffers(group[len(group)-1].BrowseEntry, r.cur[0].BrowseEntry)
			}
			group = append(group, r.cur...)
			if err := r.advance(); err != nil {
				return err
			}
		}
		if err := fn(group); err != nil {
			return err
		}
	}
}

// findMatchers compiles the patterns; there must be at least one.
func findMatchers(patterns []string) ([]*exclude.Matcher, error) {
	if len(patterns) == 0 {
		return nil, findPatternError{fmt.Errorf("%w: no pattern given", exclude.ErrBadPattern)}
	}
	ms := make([]*exclude.Matcher, len(patterns))
	for i, p := range patterns {
		m, err := exclude.NewMatcher(p)
		if err != nil {
			return nil, findPatternError{err}
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
	for _, c := range cs {
		if c.cur == nil || c.cur.Path != path {
			continue
		}
		m := FindMatch{Name: c.b.Name, ID: c.b.ID, Time: c.b.Info.Started.UTC(), BrowseEntry: browseEntry(c.cur)}
		m.Changed = len(group) > 0 && versionDiffers(group[len(group)-1].BrowseEntry, m.BrowseEntry)
		group = append(group, m)
		if err := c.advance(); err != nil {
			return nil, err
		}
	}
	return group, nil
}

// versionDiffers reports whether two versions of a path differ in what
// find compares: type, size, content hash and symlink target.
func versionDiffers(a, b BrowseEntry) bool {
	return a.Type != b.Type || a.Size != b.Size || a.Hash != b.Hash || a.Target != b.Target
}

// findPatternError is the exclude package's error for a find pattern,
// worded for find ("bad pattern", not "bad exclude pattern"); it still
// wraps exclude.ErrBadPattern.
type findPatternError struct{ err error }

func (e findPatternError) Error() string {
	return strings.Replace(e.err.Error(), exclude.ErrBadPattern.Error(), "bad pattern", 1)
}

func (e findPatternError) Unwrap() error { return e.err }
