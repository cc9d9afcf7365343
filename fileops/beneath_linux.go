package fileops

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// SymlinkError reports a symlink met while resolving a path beneath a
// directory (see ResolveBeneath), where a directory, or last the entry
// itself, was expected. It was not followed.
type SymlinkError struct {
	Path string // the symlink, relative to the directory resolved from
}

func (e *SymlinkError) Error() string {
	return e.Path + ": a symlink where a directory or file was expected; not followed"
}

// Unwrap returns ELOOP, the errno the kernel gives for the refusal.
func (e *SymlinkError) Unwrap() error { return unix.ELOOP }

// noOpenat2 is set once the kernel said it has no openat2 (before 5.6).
var noOpenat2 atomic.Bool

// ResolveBeneath opens rel (slash-separated, relative; "" is dirfd's
// directory) below the directory descriptor dirfd without following any
// symlink, not even a last one, and without leaving dirfd's tree: openat2
// with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, one stretch of at most
// pathStretch bytes at a time, so rel may be of any length. A kernel
// without openat2 (ENOSYS) gets one openat with O_NOFOLLOW per component
// instead, and ".." is refused. A symlink met on the way is a
// *SymlinkError naming it; the other errors are the kernel's. flags are
// the open flags; O_NOFOLLOW and O_CLOEXEC are added. It is safe for
// concurrent use. This is the one way lvback reaches into a directory it
// does not trust not to have been changed: a backup tree, a restore
// target, a tree being removed.
func ResolveBeneath(dirfd int, rel string, flags int) (int, error) {
	if !noOpenat2.Load() {
		fd, err := resolveWith(openat2Beneath, dirfd, rel, flags)
		if !errors.Is(err, unix.ENOSYS) {
			return fd, err
		}
		noOpenat2.Store(true)
	}
	return resolveWith(openatBeneath, dirfd, rel, flags)
}

// resolveWith is ResolveBeneath with one way of opening.
func resolveWith(open func(dirfd int, rel string, flags int) (int, error), dirfd int, rel string, flags int) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := open(dirfd, rel, flags)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		if serr := symlinkOn(dirfd, rel); serr != nil {
			return -1, serr
		}
	}
	if err != nil {
		return -1, err
	}
	if flags&unix.O_PATH != 0 && flags&unix.O_DIRECTORY == 0 {
		// O_PATH|O_NOFOLLOW opens a last symlink itself: refuse it here.
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
			unix.Close(fd)
			if err == nil {
				err = &SymlinkError{Path: rel}
			}
			return -1, err
		}
	}
	return fd, nil
}

// openat2Beneath is ResolveBeneath with openat2, in stretches.
func openat2Beneath(dirfd int, rel string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	dirHow := how // the stretches before the last are directories
	dirHow.Flags = uint64(unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC)
	if rel == "" {
		rel = "."
	}
	fd, owned := dirfd, false
	for rel != "" {
		part, rest := cutStretch(rel)
		h := &how
		if rest != "" {
			h = &dirHow
		}
		next, err := unix.Openat2(fd, part, h)
		if owned {
			unix.Close(fd)
		}
		if err != nil {
			return -1, err
		}
		fd, owned, rel = next, true, rest
	}
	return fd, nil
}

// openatBeneath is ResolveBeneath for kernels without openat2: one
// component at a time, each opened with O_NOFOLLOW.
func openatBeneath(dirfd int, rel string, flags int) (int, error) {
	var parts []string
	for _, p := range strings.Split(rel, "/") {
		if p == ".." {
			return -1, unix.EXDEV // what RESOLVE_BENEATH says to an escape
		}
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		parts = []string{"."}
	}
	fd, owned := dirfd, false
	for i, p := range parts {
		fl := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			fl = flags
		}
		next, err := unix.Openat(fd, p, fl, 0)
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

// symlinkOn returns a *SymlinkError naming the first component of rel
// below dirfd that is a symlink, or nil when there is none (any more).
func symlinkOn(dirfd int, rel string) error {
	prefix := ""
	for _, p := range strings.Split(rel, "/") {
		if p == "" || p == "." {
			continue
		}
		if prefix != "" {
			prefix += "/"
		}
		prefix += p
		if len(prefix) >= unix.PathMax {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, prefix, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			return &SymlinkError{Path: prefix}
		case unix.S_IFDIR:
		default:
			return nil
		}
	}
	return nil
}

// procFD names the open descriptor fd for calls that take a path: the
// kernel resolves it to fd's file itself, whatever its name is by now.
func procFD(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }
