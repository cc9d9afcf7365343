package walker

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/exclude"
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
	markers := d.markers(fd, names, w.opts.Rules)
	d.children = make([]*Entry, 0, len(names))
	for _, name := range names {
		if w.excludedPath(d.path, name) {
			continue
		}
		leftOut := markers != nil && !slices.Contains(markers, name)
		if e := d.child(fd, name, &w.opts, w.rootDev, leftOut); e != nil {
			if w.forbidden(&e.Stat) {
				e.dir = nil // never read: emit refuses it
			}
			d.children = append(d.children, e)
		}
	}
}

// child lstats one entry; leftOut (or opts.Rules) marks it excluded, and
// then nothing more is read.
func (d *dirNode) child(dirfd int, name string, opts *Options, rootDev uint64, leftOut bool) *Entry {
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
	if leftOut || opts.Rules.Excluded(rel, e.Stat.Mode&unix.S_IFMT == unix.S_IFDIR) {
		e.excluded = true
		return e
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

// excludedPath reports whether dir/name is in Options.Exclude.
func (w *walk) excludedPath(dir, name string) bool {
	for _, x := range w.opts.Exclude {
		if dir == "" && x == name || dir != "" && len(x) == len(dir)+1+len(name) && x == dir+"/"+name {
			return true
		}
	}
	return false
}

// markers returns the marker entries of a directory that Rules marks (see
// Options.Rules), or nil when it is not marked: then nothing in it is left
// out for a marker. An unreadable cache tag is recorded and does not mark.
func (d *dirNode) markers(dirfd int, names []string, rules *exclude.Rules) []string {
	var found []string
	marked := false
	for _, m := range rules.Markers() {
		if _, ok := slices.BinarySearch(names, m); !ok {
			continue
		}
		found = append(found, m)
		if !rules.IsCacheTag(m) {
			marked = true
			continue
		}
		valid, err := validCacheTag(dirfd, m)
		if err != nil {
			d.fail(join(d.path, m), fmt.Errorf("read cache tag: %w", err))
		}
		marked = marked || valid
	}
	if !marked {
		return nil
	}
	return found
}

// validCacheTag reads the beginning of a regular file name below dirfd
// (never through a symlink, never opening a FIFO or device) and checks the
// cache tag signature. A file that vanished is no tag.
func validCacheTag(dirfd int, name string) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, nil
	}
	var fd int
	if err == nil {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, err // replaced since the lstat
	}
	head := make([]byte, len(exclude.CacheTagSignature))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return exclude.ValidCacheTag(head[:n]), nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
