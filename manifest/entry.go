// Package manifest owns the on-disk record of one backup: one Entry per
// file system object, sorted by path, streamed through zstd. It encodes,
// decodes and compares manifests; it never touches the backed-up data.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Type is the kind of file system object an Entry describes.
type Type uint8

// The entry types lvback records. Values are part of the on-disk format.
const (
	TypeFile    Type = 1
	TypeDir     Type = 2
	TypeSymlink Type = 3
	TypeFIFO    Type = 4
	TypeChar    Type = 5
	TypeBlock   Type = 6
	TypeSocket  Type = 7
)

// String returns a short lower-case name of the type ("file", "dir", ...).
func (t Type) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	case TypeFIFO:
		return "fifo"
	case TypeChar:
		return "char"
	case TypeBlock:
		return "block"
	case TypeSocket:
		return "socket"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Valid reports whether t is one of the defined types.
func (t Type) Valid() bool { return t >= TypeFile && t <= TypeSocket }

// Xattr is one extended attribute (POSIX ACLs appear as system.posix_acl_*).
// A file system's second names for its attributes (IsXattrAlias) are never
// among an Entry's Xattrs: a Reader leaves out those that older manifests
// recorded.
type Xattr struct {
	Name  string
	Value []byte
}

// IsXattrAlias reports whether name is a second name under which a file
// system lists an attribute it also lists by its canonical name, so that
// setting or removing it changes that attribute: lvback never records,
// sets, removes or compares such a name. The only ones known are XFS's:
// to root, XFS lists the POSIX ACLs it stores as trusted.SGI_ACL_FILE and
// trusted.SGI_ACL_DEFAULT beside system.posix_acl_access and
// system.posix_acl_default, and removing a trusted name removes the ACL
// (Linux 6.18, measured; ext4, btrfs and tmpfs list the system names only).
// Written on another file system, these names would be plain trusted
// attributes that no ACL tool reads.
func IsXattrAlias(name string) bool {
	return name == "trusted.SGI_ACL_FILE" || name == "trusted.SGI_ACL_DEFAULT"
}

// withoutAliases returns xs less its alias names (IsXattrAlias), reusing
// its array; nil when nothing is left.
func withoutAliases(xs []Xattr) []Xattr {
	xs = slices.DeleteFunc(xs, func(x Xattr) bool { return IsXattrAlias(x.Name) })
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// Entry is the record of one file system object of a backed-up volume.
// Metadata fields describe the *source* object at backup time, so the next
// run can compare the source with them (never with the backup tree).
type Entry struct {
	Path   string // slash-separated, relative to the volume root; "" is the root directory
	Type   Type
	Mode   uint32 // permission bits plus setuid, setgid and sticky (07777)
	UID    uint32
	GID    uint32
	Size   int64  // logical size of a regular file; 0 for other types
	Mtime  Time   // last modification
	Ctime  Time   // last inode change
	Inode  uint64 // source inode number
	Rdev   uint64 // device number of a char or block device
	Target string // symlink target, stored verbatim
	LinkTo string // for a hard link to an earlier entry: that entry's Path
	Xattrs []Xattr
	Hash   [32]byte // BLAKE3 of a regular file's content; zero otherwise
}

// Limits the decoder enforces; the encoder refuses entries beyond them too.
const (
	MaxPathLen    = 16 << 10 // bytes in a Path, Target or LinkTo
	MaxXattrs     = 1024     // attributes per entry
	MaxXattrName  = 255      // bytes in an attribute name (Linux XATTR_NAME_MAX)
	MaxXattrValue = 64 << 10 // bytes in an attribute value (Linux XATTR_SIZE_MAX)
)

// Compare orders paths the way a depth-first walk visits them: component by
// component, bytewise. It equals bytes.Compare with '/' ranked below every
// other byte, so "a/b" sorts before "a.b" and a directory's children follow
// the directory directly. The root "" sorts first.
func Compare(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		if ca < cb {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

// ErrBadPath reports a path that is not a clean relative path.
var ErrBadPath = errors.New("invalid path")

// ValidPath checks that p is "" (the root) or a clean relative path: no
// leading or trailing slash, no empty, "." or ".." component, no NUL byte.
// Such a path can never name anything outside the directory it is joined to.
func ValidPath(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > MaxPathLen {
		return fmt.Errorf("%w: %d bytes long", ErrBadPath, len(p))
	}
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("%w: %q contains NUL", ErrBadPath, p)
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("%w: %q", ErrBadPath, p)
		}
	}
	return nil
}

// EqualXattrs reports whether two sorted attribute lists are identical.
func EqualXattrs(a, b []Xattr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}
