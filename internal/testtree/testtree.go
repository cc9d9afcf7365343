// Package testtree describes directory trees for tests as data, creates them
// on disk and checks trees against each other with an independent oracle
// (rsync). It is a helper for tests only: it never uses lvback's own file
// operations, so a bug there cannot hide itself in the oracle.
package testtree

import (
	"os"
	"time"
)

// Node is one file system object of a test tree: a File, Dir, Symlink,
// Hardlink, FIFO, Socket or Device value.
type Node interface {
	isNode()
}

// File is a regular file.
//
// A zero Mode means 0644; otherwise Mode holds the permission bits plus
// os.ModeSetuid, os.ModeSetgid and os.ModeSticky. UID and GID, when
// positive, set the owner (which needs root); 0 and -1 leave the creating
// process's ids, so the zero value works for any user. A zero Mtime leaves
// the time of creation. ACL, if not empty, is passed to `setfacl -m`.
//
// When Sparse is set the file is truncated to SparseSize, Content is written
// at SparseOffset and each of Extra at its offset; the rest are holes.
type File struct {
	Content      []byte
	Mode         os.FileMode
	UID, GID     int
	Mtime        time.Time
	Xattrs       map[string][]byte
	ACL          string
	Sparse       bool
	SparseOffset int64
	SparseSize   int64
	Extra        []Extent
}

// Extent is data written at Offset of a sparse File.
type Extent struct {
	Offset int64
	Data   []byte
}

// Dir is a directory holding Entries, keyed by name (any bytes but '/' and
// NUL). Mode, owner, ACL, xattrs and mtime are applied after everything
// below it exists, so a read-only Mode or a default ACL does not affect the
// creation of its entries. A zero Mode means 0755, except for the root
// passed to Create, whose zero fields leave it as it is.
type Dir struct {
	Entries  map[string]Node
	Mode     os.FileMode
	UID, GID int
	Mtime    time.Time
	Xattrs   map[string][]byte
	ACL      string
}

// Symlink is a symbolic link; Target is stored verbatim and need not exist.
type Symlink struct {
	Target   string
	UID, GID int
	Mtime    time.Time
}

// Hardlink is another name for the File (or other non-directory) at To, a
// slash-separated path relative to the tree root. Create makes all hard
// links after all other nodes, so To may name a node anywhere in the tree.
type Hardlink struct {
	To string
}

// FIFO is a named pipe; a zero Mode means 0644.
type FIFO struct {
	Mode  os.FileMode
	Mtime time.Time
}

// Socket is a Unix domain socket node; a zero Mode means 0644.
type Socket struct {
	Mode  os.FileMode
	Mtime time.Time
}

// Device is a character (Char) or block device node; a zero Mode means
// 0644. Creating one needs CAP_MKNOD: check CanMknod before putting a Device
// into a tree, or Create fails the test.
type Device struct {
	Char         bool
	Major, Minor uint32
	Mode         os.FileMode
	Mtime        time.Time
}

func (File) isNode()     {}
func (Dir) isNode()      {}
func (Symlink) isNode()  {}
func (Hardlink) isNode() {}
func (FIFO) isNode()     {}
func (Socket) isNode()   {}
func (Device) isNode()   {}
