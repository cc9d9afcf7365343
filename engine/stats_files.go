package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/lvback/lvback/manifest"
)

// spaceKey names one piece of a backup directory's storage, counted once.
type spaceKey struct {
	kind uint8
	a, b uint64
}

// Kinds of spaceKey.
const (
	keyVisit  uint8 = iota // a regular file's inode (dev, ino), size 0: its data are counted as extents or keyInode
	keyInode               // an inode's allocated blocks (dev, ino)
	keyExtent              // a data extent (physical address, length) on the repository's file system
)

// countDir counts every inode below dir (dir included) once: a regular
// file by its data extents where FIEMAP maps them, else (and every other
// inode) by its allocated blocks. Entries that vanish meanwhile are
// skipped. It may run concurrently for the backups of one volume.
func (s *statsRun) countDir(ctx context.Context, dir string, bi, v int32) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			var fi fs.FileInfo
			if fi, err = d.Info(); err == nil {
				err = s.countEntry(path, fi, bi, v)
			}
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil // pruned or replaced meanwhile
		}
		return err
	})
}

// countEntry counts the inode at path, which fi describes (lstat).
func (s *statsRun) countEntry(path string, fi fs.FileInfo, bi, v int32) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no stat data", path)
	}
	inode := spaceKey{kind: keyInode, a: st.Dev, b: st.Ino}
	if !fi.Mode().IsRegular() {
		s.files.touch(inode, st.Blocks*512, 0, bi, v)
		return nil
	}
	if !s.files.touch(spaceKey{kind: keyVisit, a: st.Dev, b: st.Ino}, 0, 0, bi, v) {
		return nil // a hard link this backup or all others already counted
	}
	extents, err := fileExtents(path, st.Ino)
	if err != nil {
		return err
	}
	if extents == nil {
		s.files.touch(inode, st.Blocks*512, 0, bi, v)
		return nil
	}
	for _, e := range extents {
		s.files.touch(spaceKey{kind: keyExtent, a: e.physical, b: e.length}, int64(e.length), 0, bi, v)
	}
	return nil
}

// extent is one data extent of a file on its file system.
type extent struct{ physical, length uint64 }

// logicalBytes returns what restoring the backup with the manifest at
// path writes: the sizes of its regular files, a hard-linked one once.
func logicalBytes(path string) (int64, error) {
	r, err := manifest.Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int64
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if e.Type == manifest.TypeFile && e.LinkTo == "" {
			n += e.Size
		}
	}
}
