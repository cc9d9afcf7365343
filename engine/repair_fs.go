package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// The file system steps of verify --repair: a checked copy beside the
// damaged file, renames over its names, and the directories' times.
// Every path is reached beneath its root, a backup's tree or --source,
// without following a symlink (fileops.Tree, fileops.Dir): a directory
// replaced by a symlink never makes repair read, link, rename or time
// anything outside the tree.

// withTree calls fn with b's tree, open for the call.
func withTree(b *repo.Backup, fn func(*fileops.Tree) error) error {
	t, err := fileops.OpenTree(b.TreePath())
	if err != nil {
		return err
	}
	defer t.Close()
	return fn(t)
}

// lstatName lstats n beneath its backup's tree.
func lstatName(n treeName) (st unix.Stat_t, err error) {
	err = withTree(n.b, func(t *fileops.Tree) error { return t.Lstat(n.path, &st) })
	return st, err
}

// splitPath splits a tree path into its directory ("" for the root) and
// its last component.
func splitPath(rel string) (dir, base string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return "", rel
}

// openRegular opens the regular file rel beneath root for reading.
func openRegular(root *fileops.Tree, rel string) (*os.File, error) {
	dir, base := splitPath(rel)
	d, err := root.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.OpenFile(base)
}

// copyIntact copies the candidate c to a new temporary file in dir with
// e's metadata, checks while copying that its content hashes to e.Hash,
// and fsyncs it. On any error nothing is left in dir.
func copyIntact(ctx context.Context, dir *fileops.Dir, c candidate, e *manifest.Entry) (tmp, note string, err error) {
	f, err := c.open()
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	if !fi.Mode().IsRegular() || fi.Size() != e.Size {
		return "", "", fmt.Errorf("%s: %s of %d bytes, manifest says a file of %d", c.label, fi.Mode().Type(), fi.Size(), e.Size)
	}
	tmp = healTempName()
	sum, _, err := fileops.CopyFileMeta(ctx, dir.At(tmp), f, e)
	if errors.Is(err, fileops.ErrNotPermitted) {
		note, err = err.Error(), nil
	}
	if err != nil {
		err = fmt.Errorf("copy %s into %s: %w", c.label, dir.Path(), err)
	}
	if err == nil && sum != e.Hash {
		err = fmt.Errorf("%s: content hash %x, manifest says %x", c.label, sum[:8], e.Hash[:8])
	}
	if err == nil {
		err = syncFile(dir, tmp)
	}
	if err != nil {
		_ = dir.Remove(tmp)
		return "", "", err
	}
	return tmp, note, nil
}

// syncFile fsyncs the regular file name of dir.
func syncFile(dir *fileops.Dir, name string) error {
	f, err := dir.OpenFile(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// replaceNames renames tmp, in the directory of names[0], over names[0],
// then links each other name to the new inode through a temporary name
// renamed over it; dirs.of[i] is the directory of names[i]. It returns
// how many names now hold the new inode.
func replaceNames(names []treeName, dirs *nameDirs, tmp string) (int, error) {
	first := dirs.of[0].Dir
	_, base0 := splitPath(names[0].path)
	if err := fileops.Rename(first, tmp, first, base0); err != nil {
		_ = first.Remove(tmp)
		return 0, err
	}
	for i := 1; i < len(names); i++ {
		d, t := dirs.of[i].Dir, healTempName()
		_, base := splitPath(names[i].path)
		if err := fileops.Link(first, base0, d, t); err != nil {
			return i, err
		}
		if err := fileops.Rename(d, t, d, base); err != nil {
			_ = d.Remove(t)
			return i, err
		}
	}
	return len(names), nil
}

// healTempName is a new name for a file being written beside a damaged
// one; a crash may leave it behind, and verify then reports it as extra.
func healTempName() string {
	var b [8]byte
	_, _ = io.ReadFull(rand.Reader, b[:])
	return ".lvback-heal-" + hex.EncodeToString(b[:])
}

// nameDir is a directory holding names of a damaged inode, opened beneath
// its backup's tree, with the times it had before repair wrote in it.
type nameDir struct {
	*fileops.Dir
	atime, mtime unix.Timespec
}

// nameDirs are the directories of a damaged inode's names, each opened
// once.
type nameDirs struct {
	of  []*nameDir // of[i] holds names[i]
	all []*nameDir
}

// openNameDirs opens the directory of each name beneath its backup's
// tree. A directory that cannot be opened so (a symlink on the way) is an
// error naming it; nothing is left open then.
func openNameDirs(names []treeName) (*nameDirs, error) {
	ds := &nameDirs{}
	byPath := map[string]*nameDir{}
	for _, n := range names {
		rel, _ := splitPath(n.path)
		key := n.b.TreePath() + "/" + rel
		d := byPath[key]
		if d == nil {
			err := withTree(n.b, func(t *fileops.Tree) error {
				var err error
				d, err = openNameDir(t, rel)
				return err
			})
			if err != nil {
				ds.close()
				return nil, fmt.Errorf("%s: %w", n.ref(), err)
			}
			byPath[key] = d
			ds.all = append(ds.all, d)
		}
		ds.of = append(ds.of, d)
	}
	return ds, nil
}

func openNameDir(t *fileops.Tree, rel string) (*nameDir, error) {
	d, err := t.OpenDir(rel)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := d.Stat(&st); err != nil {
		d.Close()
		return nil, err
	}
	return &nameDir{Dir: d, atime: st.Atim, mtime: st.Mtim}, nil
}

// restore puts the saved times back (verify compares a directory's mtime
// with its manifest), fsyncs each directory, making the renames in it
// durable, and closes them.
func (ds *nameDirs) restore() error {
	var errs []error
	for _, d := range ds.all {
		err := d.SetTimes(d.atime, d.mtime)
		if err == nil {
			err = d.Sync()
		}
		errs = append(errs, err)
	}
	ds.close()
	return errors.Join(errs...)
}

func (ds *nameDirs) close() {
	for _, d := range ds.all {
		d.Close()
	}
}
