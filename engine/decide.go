package engine

import (
	"github.com/lvback/lvback/manifest"
)

// action is what a backup does with one regular file.
type action int

const (
	actCopy          action = iota // read the source, write and hash it
	actLink                        // hard-link the previous backup's file
	actHashThenLink                // hash the source; link if equal, else copy
	actHashThenClone               // hash; equal content gets a reflink of the previous file (new inode), else copy
	actCopyDamaged                 // copy: unchanged, but verify recorded the previous backup's inode damaged
)

func (a action) String() string {
	return [...]string{"copy", "link", "hash-then-link", "hash-then-clone", "copy-damaged"}[a]
}

// decide compares a source file with the previous manifest's record of the
// same path (never with the backup tree: that would see the link count and
// ctime of the repository's own inodes). prevStart is when the previous
// backup started, in ns since the Unix epoch. prevDamaged says verify
// recorded the previous backup's file (its inode) as damaged: its content
// is then no base for a link or a reflink, whatever the source looks like.
// checksum compares the source's hash with the previous manifest's, so it
// finds source changes that kept size and mtime, never damage inside the
// repository.
func decide(cur, prev *manifest.Entry, prevStart int64, checksum, prevDamaged bool) action {
	if prev == nil || prev.Type != manifest.TypeFile || cur.Type != manifest.TypeFile {
		return actCopy
	}
	sameContent := cur.Size == prev.Size && cur.Mtime == prev.Mtime && cur.Inode == prev.Inode
	if !sameContent {
		return actCopy
	}
	if prevDamaged {
		return actCopyDamaged
	}
	sameMeta := cur.Mode == prev.Mode && cur.UID == prev.UID && cur.GID == prev.GID &&
		cur.Ctime == prev.Ctime && manifest.EqualXattrs(cur.Xattrs, prev.Xattrs)
	if !sameMeta {
		// A chmod/chown/xattr change, or a content write that kept mtime
		// (ctime moved): hash to know which, and never share the inode.
		return actHashThenClone
	}
	raceStart := manifest.TimeFromNano(prevStart - int64(raceWindow))
	if checksum || prev.Mtime.Compare(raceStart) >= 0 {
		return actHashThenLink
	}
	return actLink
}
