package walker

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
)

// load lists the directory, lstats every child relative to the directory's
// file descriptor (no path re-resolution, no symlink following) and reads
// symlink targets and xattrs. Failures are kept in d.errs for emit.
func (d *dirNode) load(w *walk) {
	// Beneath the root, in stretches (trees of any depth), never through a
	// symlink: a tree changing under the walk cannot lead it elsewhere.
	fd, err := fileops.OpenBeneath(w.rootFD, d.path, unix.O_RDONLY)
	if errors.Is(err, unix.ENOENT) { // vanished since its parent was read
		d.fail(d.path, fmt.Errorf("directory vanished before it was read: %w", err))
		return
	}
	if err != nil {
		d.fail(d.path, fmt.Errorf("open directory: %w", err))
		return
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		d.fail(d.path, fmt.Errorf("read directory: %w", err))
		return
	}
	slices.Sort(names)
	d.children = make([]*Entry, 0, len(names))
	for _, name := range names {
		if w.excluded(d.path, name) {
			continue
		}
		if e := d.child(fd, name, &w.opts, w.rootDev); e != nil {
			if w.forbidden(&e.Stat) {
				e.dir = nil // never read: emit refuses it
			}
			d.children = append(d.children, e)
		}
	}
}

func (d *dirNode) child(dirfd int, name string, opts *Options, rootDev uint64) *Entry {
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
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			d.fail(rel, fmt.Errorf("readlink: %w", err))
			return nil
		}
		e.Target = t
	case unix.S_IFDIR:
		if !opts.OneFileSystem || e.Stat.Dev == rootDev {
			e.dir = &dirNode{path: rel}
		}
	}
	if opts.XattrsKnownEmpty != nil && opts.XattrsKnownEmpty(&e.Stat) {
		return e
	}
	// Through the directory's descriptor: short whatever the depth.
	xs, err := fileops.ListXattrs(fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name))
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
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

// excluded reports whether dir/name is in Options.Exclude.
func (w *walk) excluded(dir, name string) bool {
	for _, x := range w.opts.Exclude {
		if dir == "" && x == name || dir != "" && len(x) == len(dir)+1+len(name) && x == dir+"/"+name {
			return true
		}
	}
	return false
}
