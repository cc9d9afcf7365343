package fileops

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// pathStretch is how many bytes of a path one open resolves when a path
// is too long for the kernel (PATH_MAX, 4096 with its NUL): well below the
// limit, so a stretch cut at a slash always fits.
const pathStretch = 3000

// OpenBeneath opens the directory rel below the directory descriptor dirfd
// without following any symlink on the way and without leaving dirfd's
// tree: ResolveBeneath with O_DIRECTORY added to flags. "" opens dirfd's
// directory itself.
func OpenBeneath(dirfd int, rel string, flags int) (int, error) {
	return ResolveBeneath(dirfd, rel, flags|unix.O_DIRECTORY)
}

// cutStretch splits p at a slash into a head of at most pathStretch bytes
// (or one longer component) and the rest.
func cutStretch(p string) (head, rest string) {
	if len(p) <= pathStretch {
		return p, ""
	}
	cut := strings.LastIndexByte(p[:pathStretch], '/')
	if cut <= 0 {
		cut = strings.IndexByte(p, '/')
		if cut < 0 {
			return p, ""
		}
	}
	return p[:cut], strings.TrimLeft(p[cut:], "/")
}

// ShortPath returns a name for path that system calls accept however long
// path is: path itself when it is shorter than PATH_MAX, else
// "/proc/self/fd/N/BASE" where N is a descriptor of path's parent
// directory, opened one stretch at a time (symlinks are followed only in
// the first stretch, as a lookup of a short path would; below it none is).
// The name is valid until release is called; release is never nil.
func ShortPath(path string) (name string, release func(), err error) {
	if len(path) < unix.PathMax {
		return path, func() {}, nil
	}
	i := strings.LastIndexByte(path, '/')
	dir, base := path[:i], path[i+1:]
	head, rest := cutStretch(dir)
	fd, err := unix.Open(head, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil && rest != "" {
		var next int
		next, err = OpenBeneath(fd, rest, unix.O_PATH)
		unix.Close(fd)
		fd = next
	}
	if err != nil {
		return "", func() {}, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", fd, base), func() { unix.Close(fd) }, nil
}

// OnPath calls fn with a name of path that system calls accept however
// long path is (see ShortPath), and returns fn's error.
func OnPath(path string, fn func(name string) error) error {
	name, release, err := ShortPath(path)
	if err != nil {
		return err
	}
	defer release()
	return fn(name)
}
