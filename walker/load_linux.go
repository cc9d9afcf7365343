package walker

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
)

// load lists the directory, lstats every child relative to the directory's
// file descriptor (no path re-resolution, no symlink following) and reads
// symlink targets and xattrs. Failures are kept in d.errs for emit.
func (d *dirNode) load(w *walk) {
	fd, err := openBeneath(w.rootFD, d.path)
	if errors.Is(err, unix.ENOENT) { // vanished since its parent was read
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
		if e := d.child(fd, name, w.opts.OneFileSystem, w.rootDev); e != nil {
			d.children = append(d.children, e)
		}
	}
}

// openBeneath opens directory rel below the root descriptor without
// following any symlink on the way (openat2 RESOLVE_NO_SYMLINKS, so a tree
// changing under the walk cannot lead it elsewhere). Paths longer than the
// kernel's PATH_MAX are opened in steps, so trees of any depth can be walked.
func openBeneath(rootFD int, rel string) (int, error) {
	const step = 3000 // bytes of path per openat2, well below PATH_MAX (4096)
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	if rel == "" {
		rel = "."
	}
	fd, owned := rootFD, false
	for rel != "" {
		part := rel
		if len(part) > step {
			cut := strings.LastIndexByte(part[:step], '/')
			if cut <= 0 {
				cut = strings.IndexByte(part, '/')
			}
			if cut > 0 {
				part = part[:cut]
			}
		}
		rel = strings.TrimPrefix(rel[len(part):], "/")
		next, err := unix.Openat2(fd, part, &how)
		if owned {
			unix.Close(fd)
		}
		if err != nil {
			return -1, err
		}
		fd, owned = next, true
	}
	return fd, nil
}

func (d *dirNode) child(dirfd int, name string, oneFS bool, rootDev uint64) *Entry {
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
		if !oneFS || e.Stat.Dev == rootDev {
			e.dir = &dirNode{path: rel}
		}
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
