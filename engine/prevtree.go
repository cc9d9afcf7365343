package engine

import (
	"errors"
	"os"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
)

// errNoPrevTree means the previous backup's tree could not be opened, so
// nothing is linked or cloned from it.
var errNoPrevTree = errors.New("previous tree not open")

// openPrevTree opens the previous backup's tree, from which unchanged files
// are linked and cloned, and returns the function that closes it. Every
// file is then reached beneath the tree without following a symlink (see
// fileops.Tree): a tree someone changed never makes the backup link or
// clone data from outside the repository. A tree that cannot be opened is
// logged and everything is copied.
func (r *fileRun) openPrevTree() (closeTree func()) {
	if r.prev == nil {
		return func() {}
	}
	t, err := fileops.OpenTree(r.prev.TreePath())
	if err != nil {
		r.o.Log.Warn("previous backup's tree unreadable; copying everything", "err", err)
		return func() {}
	}
	r.prevTree = t
	return func() { t.Close() }
}

// openPrevFile opens e's file in the previous backup's tree for reading.
func (r *fileRun) openPrevFile(e *manifest.Entry) (*os.File, error) {
	if r.prevTree == nil {
		return nil, errNoPrevTree
	}
	return r.prevTree.Open(e.Path)
}

// copyInstead reports whether err, from linking or cloning e from the
// previous tree, means e is to be copied from the source instead: the
// previous file is missing, not a regular file, at the link limit, or
// behind a symlink (which is logged: the tree was changed since it was
// written). It may be called from several goroutines at once.
func (r *fileRun) copyInstead(e *manifest.Entry, err error) bool {
	var se *fileops.SymlinkError
	if errors.As(err, &se) {
		r.o.Log.Warn("the previous backup's tree has a symlink where a directory was; not followed, copying from the source instead",
			"path", e.Path, "symlink", se.Path, "tree", r.prevTree.Path())
		return true
	}
	return errors.Is(err, errNoPrevTree) || errors.Is(err, os.ErrNotExist) ||
		errors.Is(err, errTooMany) || errors.Is(err, fileops.ErrNotRegular)
}
