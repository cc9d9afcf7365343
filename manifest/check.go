package manifest

import (
	"errors"
	"fmt"
)

// checkEntry reports why e may not follow an entry with path prev (first
// means e is the first entry). Writer.Add and Reader.Next both apply it, so
// every entry a Reader returns can be written again unchanged.
func checkEntry(e *Entry, prev string, first bool) error {
	if err := ValidPath(e.Path); err != nil {
		return err
	}
	if !first && Compare(prev, e.Path) >= 0 {
		return fmt.Errorf("path %q does not sort after %q", e.Path, prev)
	}
	if !e.Type.Valid() {
		return fmt.Errorf("%q: unknown type %d", e.Path, uint8(e.Type))
	}
	if !e.Mtime.Valid() || !e.Ctime.Valid() {
		return fmt.Errorf("%q: nanoseconds of mtime (%d) or ctime (%d) not below 1e9", e.Path, e.Mtime.Nsec, e.Ctime.Nsec)
	}
	if len(e.Target) > MaxPathLen {
		return fmt.Errorf("%q: target is %d bytes long", e.Path, len(e.Target))
	}
	if e.LinkTo != "" {
		if err := ValidPath(e.LinkTo); err != nil {
			return fmt.Errorf("%q: link: %w", e.Path, err)
		}
		if Compare(e.LinkTo, e.Path) >= 0 {
			return fmt.Errorf("%q: link to %q does not sort before it", e.Path, e.LinkTo)
		}
	}
	if e.Type != TypeFile && e.Hash != ([hashLen]byte{}) {
		return fmt.Errorf("%q: %s has a content hash", e.Path, e.Type)
	}
	if err := checkXattrs(e.Xattrs); err != nil {
		return fmt.Errorf("%q: %w", e.Path, err)
	}
	return nil
}

// checkXattrs reports a list that is too long, holds an empty or over-long
// name or an over-long value, or is not strictly sorted by name.
func checkXattrs(xs []Xattr) error {
	if len(xs) > MaxXattrs {
		return fmt.Errorf("%d xattrs", len(xs))
	}
	for i, x := range xs {
		switch {
		case x.Name == "":
			return errors.New("xattr with an empty name")
		case len(x.Name) > MaxXattrName:
			return fmt.Errorf("xattr name %q is %d bytes long", x.Name, len(x.Name))
		case len(x.Value) > MaxXattrValue:
			return fmt.Errorf("xattr %q: value is %d bytes long", x.Name, len(x.Value))
		case i > 0 && xs[i-1].Name >= x.Name:
			return fmt.Errorf("xattr %q does not sort after %q", x.Name, xs[i-1].Name)
		}
	}
	return nil
}
