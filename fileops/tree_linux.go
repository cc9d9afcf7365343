package fileops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrNotRegular reports an entry of a Tree that should be a regular file
// and is not.
var ErrNotRegular = errors.New("not a regular file")

// Tree is an open directory, such as a backup's tree, whose entries are
// only ever reached beneath it without following a symlink (see
// ResolveBeneath): a tree someone changed cannot lead a reader, a linker
// or a remover outside it. Its methods may be called from several
// goroutines at once; errors name the full path.
type Tree struct {
	fd   int
	path string
}

// OpenTree opens the directory path as a Tree. path itself must not be a
// symlink; the components above it are the caller's and are followed.
func OpenTree(path string) (*Tree, error) {
	name, release, err := ShortPath(path)
	if err != nil {
		return nil, err
	}
	defer release()
	fd, err := unix.Open(name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		var st unix.Stat_t
		if unix.Lstat(name, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			err = &SymlinkError{Path: filepath.Base(path)}
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Tree{fd: fd, path: path}, nil
}

// Path returns the path the tree was opened by.
func (t *Tree) Path() string { return t.path }

// Close releases the tree's descriptor.
func (t *Tree) Close() error { return unix.Close(t.fd) }

func (t *Tree) pathErr(op, rel string, err error) error {
	return &os.PathError{Op: op, Path: t.path + "/" + rel, Err: err}
}

// Open opens the entry rel of the tree for reading.
func (t *Tree) Open(rel string) (*os.File, error) {
	fd, err := ResolveBeneath(t.fd, rel, unix.O_RDONLY)
	if err != nil {
		return nil, t.pathErr("open", rel, err)
	}
	return os.NewFile(uintptr(fd), t.path+"/"+rel), nil
}

// Lstat stats the entry rel of the tree; rel must not be a symlink.
func (t *Tree) Lstat(rel string, st *unix.Stat_t) error {
	fd, err := ResolveBeneath(t.fd, rel, unix.O_PATH)
	if err == nil {
		err = unix.Fstat(fd, st)
		unix.Close(fd)
	}
	if err != nil {
		return t.pathErr("lstat", rel, err)
	}
	return nil
}

// LinkFile makes newpath (of any length; resolved as the kernel does) a
// hard link to the tree's regular file rel: to the very inode checked to
// be a regular file beneath the tree, never to what a symlink names.
func (t *Tree) LinkFile(rel, newpath string) error {
	fd, err := ResolveBeneath(t.fd, rel, unix.O_PATH)
	if err != nil {
		return t.pathErr("link", rel, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return t.pathErr("link", rel, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return t.pathErr("link", rel, fmt.Errorf("%w (mode %o)", ErrNotRegular, st.Mode))
	}
	return OnPath(newpath, func(n string) error {
		if err := unix.Linkat(unix.AT_FDCWD, procFD(fd), unix.AT_FDCWD, n, unix.AT_SYMLINK_FOLLOW); err != nil {
			return &os.LinkError{Op: "link", Old: t.path + "/" + rel, New: newpath, Err: err}
		}
		return nil
	})
}
