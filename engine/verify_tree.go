package engine

import (
	"errors"

	"github.com/lvback/lvback/fileops"
)

// openTree opens the backup's tree, beneath which every file is read, and
// reports whether it is open. A tree that is a symlink is a problem of the
// backup (not followed, nothing more to check); any other failure is err.
func (c *treeCheck) openTree() (ok bool, err error) {
	c.tree, err = fileops.OpenTree(c.b.TreePath())
	var se *fileops.SymlinkError
	if errors.As(err, &se) {
		c.v.report(Problem{Backup: c.name, Kind: "corrupt", Detail: err.Error()})
		return false, nil
	}
	return err == nil, err
}

// walkError reports a symlink the walk met where it had seen a directory
// (it was replaced meanwhile; it is not followed) as a problem of that
// path; any other failure to read the tree ends the verify, as before.
// It is called from the walk's callback goroutine.
func (c *treeCheck) walkError(path string, err error) error {
	var se *fileops.SymlinkError
	if errors.As(err, &se) {
		c.v.report(Problem{Backup: c.name, Path: path, Kind: "corrupt", Detail: err.Error()})
		return nil
	}
	return err
}
