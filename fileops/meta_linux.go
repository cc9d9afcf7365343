package fileops

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/lvback/lvback/manifest"
	"github.com/pkg/xattr"
	"golang.org/x/sys/unix"
)

// ApplyMeta gives the object at path, never following a final symlink, the
// metadata e records: owner (numeric), mode with setuid, setgid and sticky
// bits (not for symlinks), exactly the extended attributes e.Xattrs (others
// are removed, such as ACLs inherited from a default ACL; alias names,
// manifest.IsXattrAlias, are neither set nor removed) and the mtime to the
// nanosecond, with atime equal to it. The order is owner, mode, attributes,
// times, so a chown cannot clear setuid bits or security.capability, and
// writing a directory's content must be finished before. When the process
// may not set the owner or an attribute (EPERM), ApplyMeta still applies
// everything else, then returns an error wrapping ErrNotPermitted.
func ApplyMeta(path string, e *manifest.Entry) error {
	var denied []error
	if err := unix.Lchown(path, int(e.UID), int(e.GID)); err != nil {
		if !errors.Is(err, unix.EPERM) {
			return &os.PathError{Op: "lchown", Path: path, Err: err}
		}
		denied = append(denied, fmt.Errorf("lchown %s to %d:%d: %w", path, e.UID, e.GID, ErrNotPermitted))
	}
	if e.Type != manifest.TypeSymlink {
		if err := lchmod(path, e.Mode&0o7777); err != nil {
			return &os.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	xdenied, err := setXattrs(pathXattrs(path), e.Xattrs)
	if err != nil {
		return err
	}
	denied = append(denied, xdenied...)
	ts := ToTimespec(e.Mtime)
	err = unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return &os.PathError{Op: "utimensat", Path: path, Err: err}
	}
	return errors.Join(denied...)
}

// applyMetaFD is ApplyMeta for a regular file open for writing: the same
// order and guarantees, through the descriptor. The owner is left alone
// when the new file already has it (it was created by this process).
func applyMetaFD(f *os.File, e *manifest.Entry) error {
	var denied []error
	fd := int(f.Fd())
	if int(e.UID) != euid() || int(e.GID) != egid() {
		if err := unix.Fchown(fd, int(e.UID), int(e.GID)); err != nil {
			if !errors.Is(err, unix.EPERM) {
				return &os.PathError{Op: "fchown", Path: f.Name(), Err: err}
			}
			denied = append(denied, fmt.Errorf("chown %s to %d:%d: %w", f.Name(), e.UID, e.GID, ErrNotPermitted))
		}
	}
	if err := unix.Fchmod(fd, e.Mode&0o7777); err != nil {
		return &os.PathError{Op: "fchmod", Path: f.Name(), Err: err}
	}
	xdenied, err := setXattrs(fileXattrs(f), e.Xattrs)
	if err != nil {
		return err
	}
	denied = append(denied, xdenied...)
	ts := [2]unix.Timespec{ToTimespec(e.Mtime), ToTimespec(e.Mtime)}
	// utimensat(fd, NULL, ts, 0) is futimens(3); x/sys has no wrapper.
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "futimens", Path: f.Name(), Err: errno}
	}
	return errors.Join(denied...)
}

// euid and egid are the owner of every file this process creates (the
// backup tree has no setgid directories while it is written); asked once.
var (
	euid = sync.OnceValue(os.Geteuid)
	egid = sync.OnceValue(os.Getegid)
)

// lchmod sets the mode of path without following a final symlink:
// fchmodat2 with AT_SYMLINK_NOFOLLOW (Linux 6.6+), else chmodOPath.
// A symlink yields EOPNOTSUPP.
func lchmod(path string, mode uint32) error {
	err := unix.Fchmodat(unix.AT_FDCWD, path, mode, unix.AT_SYMLINK_NOFOLLOW)
	if !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	return chmodOPath(path, mode)
}

// chmodOPath is glibc's lchmod for kernels without fchmodat2: it opens path
// with O_PATH|O_NOFOLLOW, refuses a symlink and changes the mode of exactly
// the opened object through its /proc/self/fd link.
func chmodOPath(path string, mode uint32) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return unix.EOPNOTSUPP
	}
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
}

// xattrObject is the object whose extended attributes setXattrs changes:
// a path, never following a final symlink, or an open file.
type xattrObject struct {
	name   string // for errors
	list   func() ([]string, error)
	set    func(attr string, value []byte) error
	remove func(attr string) error
}

func pathXattrs(path string) xattrObject {
	return xattrObject{name: path,
		list:   func() ([]string, error) { return xattr.LList(path) },
		set:    func(attr string, value []byte) error { return xattr.LSet(path, attr, value) },
		remove: func(attr string) error { return xattr.LRemove(path, attr) },
	}
}

func fileXattrs(f *os.File) xattrObject {
	return xattrObject{name: f.Name(),
		list:   func() ([]string, error) { return xattr.FList(f) },
		set:    func(attr string, value []byte) error { return xattr.FSet(f, attr, value) },
		remove: func(attr string) error { return xattr.FRemove(f, attr) },
	}
}

// setXattrs makes o's extended attributes exactly want, leaving alias names
// (manifest.IsXattrAlias) alone: it never sets nor removes one. It first
// removes the attributes o has and want lacks, then sets each of want, so
// that whatever removing a name did to another name of the same attribute,
// the canonical name is written last. An attribute the process may not set
// is reported in denied (wrapping ErrNotPermitted) and skipped.
func setXattrs(o xattrObject, want []manifest.Xattr) (denied []error, err error) {
	names, err := o.list()
	if err != nil && !errors.Is(err, unix.ENOTSUP) {
		return nil, err
	}
	keep := make(map[string]bool, len(want))
	for _, x := range want {
		keep[x.Name] = true
	}
	for _, name := range names {
		if keep[name] || manifest.IsXattrAlias(name) {
			continue
		}
		if err := o.remove(name); err != nil && !errors.Is(err, xattr.ENOATTR) {
			return nil, err
		}
	}
	for _, x := range want {
		if manifest.IsXattrAlias(x.Name) {
			continue
		}
		err := o.set(x.Name, x.Value)
		if errors.Is(err, unix.EPERM) {
			denied = append(denied, fmt.Errorf("set xattr %s on %s: %w", x.Name, o.name, ErrNotPermitted))
			continue
		}
		if err != nil {
			return denied, err
		}
	}
	return denied, nil
}

// ListXattrs returns all extended attributes of path (not following a final
// symlink) but alias names (manifest.IsXattrAlias), sorted by name, with
// values that share no memory with anything else. A file system without
// extended attributes yields nil, nil. An attribute removed while listing is
// left out.
func ListXattrs(path string) ([]manifest.Xattr, error) {
	names, err := xattr.LList(path)
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var list []manifest.Xattr
	for _, name := range names {
		if manifest.IsXattrAlias(name) {
			continue
		}
		v, err := xattr.LGet(path, name)
		if errors.Is(err, xattr.ENOATTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		list = append(list, manifest.Xattr{Name: name, Value: bytes.Clone(v)})
	}
	return list, nil
}
