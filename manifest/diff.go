package manifest

import (
	"errors"
	"io"
	"strings"
)

// Change is one difference between two manifests.
type Change struct {
	Path string
	Kind string   // "added", "removed" or "changed"; with DiffExcluded also "excluded" or "included"
	What []string // for "changed": type, content, size, mode, owner, mtime, xattrs, target, device, hardlink
}

// Diff streams two manifests in path order and calls fn for every entry
// that was added, removed or changed from old to new, without reading any
// file data. Memory stays constant whatever the number of entries.
func Diff(old, new *Reader, fn func(Change) error) error {
	a, err := nextOrNil(old)
	if err != nil {
		return err
	}
	b, err := nextOrNil(new)
	if err != nil {
		return err
	}
	for a != nil || b != nil {
		var c Change
		switch {
		case b == nil || (a != nil && Compare(a.Path, b.Path) < 0):
			c = Change{Path: a.Path, Kind: "removed"}
			a, err = nextOrNil(old)
		case a == nil || Compare(a.Path, b.Path) > 0:
			c = Change{Path: b.Path, Kind: "added"}
			b, err = nextOrNil(new)
		default:
			c = Change{Path: a.Path, Kind: "changed", What: Differences(a, b)}
			if a, err = nextOrNil(old); err == nil {
				b, err = nextOrNil(new)
			}
		}
		if err != nil {
			return err
		}
		if c.Kind == "changed" && len(c.What) == 0 {
			continue
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// DiffExcluded is Diff for two backups with exclude rules. oldExcl and
// newExcl (either may be nil) are their excluded lists: manifests of the
// entries each backup's rules left out, not of what is below them. A path
// in old only, whose entry or a directory above it newExcl holds, is
// reported as "excluded" instead of "removed"; a path in new only that
// oldExcl covers so is "included" instead of "added". Memory stays
// constant but for one path per directory level.
func DiffExcluded(old, new, oldExcl, newExcl *Reader, fn func(Change) error) error {
	gone, back := &coverage{r: newExcl}, &coverage{r: oldExcl}
	return Diff(old, new, func(c Change) error {
		var err error
		var covered bool
		switch c.Kind {
		case "removed":
			if covered, err = gone.covers(c.Path); covered {
				c.Kind = "excluded"
			}
		case "added":
			if covered, err = back.covers(c.Path); covered {
				c.Kind = "included"
			}
		}
		if err != nil {
			return err
		}
		return fn(c)
	})
}

// coverage answers, for paths in increasing Compare order, whether an
// entry of r is that path or a directory above it. It keeps the entries
// read so far that are above the last path asked about.
type coverage struct {
	r     *Reader // nil covers nothing
	above []string
	next  *Entry
	done  bool
}

func (c *coverage) covers(path string) (bool, error) {
	if c.r == nil {
		return false, nil
	}
	for !c.done {
		if c.next == nil {
			e, err := nextOrNil(c.r)
			if err != nil {
				return false, err
			}
			if e == nil {
				c.done = true
				break
			}
			c.next = e
		}
		if Compare(c.next.Path, path) > 0 {
			break
		}
		c.above = popUnrelated(c.above, c.next.Path)
		c.above = append(c.above, c.next.Path)
		c.next = nil
	}
	c.above = popUnrelated(c.above, path)
	return len(c.above) > 0, nil
}

// popUnrelated drops from the end of stack the paths that are neither p
// nor a directory above it.
func popUnrelated(stack []string, p string) []string {
	for n := len(stack); n > 0; n = len(stack) {
		top := stack[n-1]
		if top == p || strings.HasPrefix(p, top+"/") {
			break
		}
		stack = stack[:n-1]
	}
	return stack
}

func nextOrNil(r *Reader) (*Entry, error) {
	e, err := r.Next()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	return e, err
}

// Differences names what differs between two records of the same path.
// Inode and ctime are left out: they describe the source, not the content.
func Differences(a, b *Entry) []string {
	var d []string
	add := func(cond bool, what string) {
		if cond {
			d = append(d, what)
		}
	}
	add(a.Type != b.Type, "type")
	add(a.Hash != b.Hash, "content")
	add(a.Size != b.Size, "size")
	add(a.Mode != b.Mode, "mode")
	add(a.UID != b.UID || a.GID != b.GID, "owner")
	add(a.Mtime != b.Mtime, "mtime")
	add(!EqualXattrs(a.Xattrs, b.Xattrs), "xattrs")
	add(a.Target != b.Target, "target")
	add(a.Rdev != b.Rdev, "device")
	add(a.LinkTo != b.LinkTo, "hardlink")
	return d
}
