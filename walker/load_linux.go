package walker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
)

// load lists the directory, lstats every child relative to the directory's
// file descriptor (no path re-resolution, no symlink following) and reads
// symlink targets and xattrs. Failures are kept in d.errs for emit.
func (d *dirNode) load(root string, oneFS bool, rootDev uint64) {
	full := filepath.Join(root, filepath.FromSlash(d.path))
	fd, err := unix.Open(full, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		d.fail(d.path, fmt.Errorf("open directory: %w", err))
		return
	}
	f := os.NewFile(uintptr(fd), full)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		d.fail(d.path, fmt.Errorf("read directory: %w", err))
		return
	}
	slices.Sort(names)
	d.children = make([]*Entry, 0, len(names))
	for _, name := range names {
		if e := d.child(fd, full, name, oneFS, rootDev); e != nil {
			d.children = append(d.children, e)
		}
	}
}

func (d *dirNode) child(dirfd int, dirPath, name string, oneFS bool, rootDev uint64) *Entry {
	rel := name
	if d.path != "" {
		rel = d.path + "/" + name
	}
	e := &Entry{Path: rel}
	if err := unix.Fstatat(dirfd, name, &e.Stat, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if !errors.Is(err, unix.ENOENT) { // vanished since readdir: not an error
			d.fail(rel, fmt.Errorf("lstat: %w", err))
		}
		return nil
	}
	switch e.Stat.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		t, err := readlinkat(dirfd, name)
		if err != nil {
			d.fail(rel, fmt.Errorf("readlink: %w", err))
			return nil
		}
		e.Target = t
	case unix.S_IFDIR:
		if !oneFS || e.Stat.Dev == rootDev {
			e.dir = &dirNode{path: rel}
		}
	}
	xs, err := fileops.ListXattrs(dirPath + "/" + name)
	if err != nil {
		d.fail(rel, fmt.Errorf("read xattrs: %w", err))
		return nil
	}
	e.Xattrs = xs
	return e
}

func (d *dirNode) fail(path string, err error) {
	d.errs = append(d.errs, entryError{path: path, err: err})
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}
