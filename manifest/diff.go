package manifest

import (
	"errors"
	"io"
)

// Change is one difference between two manifests.
type Change struct {
	Path string
	Kind string   // "added", "removed" or "changed"
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
