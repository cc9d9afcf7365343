package fileops

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is a directory of a Tree, opened beneath it without following a
// symlink (see Tree.OpenDir). Its methods take the name of one entry, a
// single path component, and act on that entry of this very directory
// with *at system calls that never follow a symlink: whatever is renamed
// or replaced above the directory after it was opened, nothing outside
// the tree is reached. Errors name the full path. Its methods may be
// called from several goroutines at once, Close last.
type Dir struct {
	fd   int
	path string
}

// OpenDir opens the directory rel of the tree ("" is the tree itself)
// beneath it without following any symlink: a symlink on the way, or at
// rel itself, is an error wrapping a *SymlinkError that names it.
func (t *Tree) OpenDir(rel string) (*Dir, error) {
	fd, err := OpenBeneath(t.fd, rel, unix.O_RDONLY)
	if err != nil {
		return nil, t.pathErr("open", rel, err)
	}
	p := t.path
	if rel != "" {
		p += "/" + rel
	}
	return &Dir{fd: fd, path: p}, nil
}

// Path returns the directory's full path, for messages: the path it was
// opened by, which need not lead to it any more.
func (d *Dir) Path() string { return d.path }

// Close releases the directory's descriptor.
func (d *Dir) Close() error { return unix.Close(d.fd) }

func (d *Dir) pathErr(op, name string, err error) error {
	return &os.PathError{Op: op, Path: d.path + "/" + name, Err: err}
}

// checkName refuses anything but one path component.
func (d *Dir) checkName(op, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return d.pathErr(op, name, fmt.Errorf("%w: not a single name", unix.EINVAL))
	}
	return nil
}

// At returns a name of the entry name of d for system calls that take a
// path: d's descriptor through /proc/self/fd, then name. The kernel
// resolves it to d itself, never through d's path; the final name is
// followed if the call follows symlinks, so pass O_NOFOLLOW or its like.
// It is valid while d is open.
func (d *Dir) At(name string) string { return procFD(d.fd) + "/" + name }

// Stat stats the directory itself.
func (d *Dir) Stat(st *unix.Stat_t) error {
	if err := unix.Fstat(d.fd, st); err != nil {
		return &os.PathError{Op: "fstat", Path: d.path, Err: err}
	}
	return nil
}

// Lstat stats the entry name; a symlink is stated itself.
func (d *Dir) Lstat(name string, st *unix.Stat_t) error {
	if err := d.checkName("lstat", name); err != nil {
		return err
	}
	if err := unix.Fstatat(d.fd, name, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return d.pathErr("lstat", name, err)
	}
	return nil
}

// OpenFile opens the regular file name for reading. Anything else (a
// symlink, a FIFO, which it never waits for) is refused.
func (d *Dir) OpenFile(name string) (*os.File, error) {
	if err := d.checkName("open", name); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.pathErr("open", name, err)
	}
	var st unix.Stat_t
	if err = unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		err = fmt.Errorf("%w (mode %o)", ErrNotRegular, st.Mode)
	}
	if err == nil {
		err = unix.SetNonblock(fd, false)
	}
	if err != nil {
		unix.Close(fd)
		return nil, d.pathErr("open", name, err)
	}
	return os.NewFile(uintptr(fd), d.path+"/"+name), nil
}

// Remove removes the entry name, which must not be a directory.
func (d *Dir) Remove(name string) error {
	if err := d.checkName("remove", name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, 0); err != nil {
		return d.pathErr("remove", name, err)
	}
	return nil
}

// Sync fsyncs the directory: when it returns nil, the names created,
// renamed or removed in it so far are durable.
func (d *Dir) Sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return &os.PathError{Op: "fsync", Path: d.path, Err: err}
	}
	return nil
}

// SetTimes sets the directory's access and modification times, exactly.
func (d *Dir) SetTimes(atime, mtime unix.Timespec) error {
	ts := []unix.Timespec{atime, mtime}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, procFD(d.fd), ts, 0); err != nil {
		return &os.PathError{Op: "utimensat", Path: d.path, Err: err}
	}
	return nil
}

// Rename renames the entry oldname of from to newname in to, replacing
// what newname was (a symlink itself, never what it names). Both must be
// on one file system.
func Rename(from *Dir, oldname string, to *Dir, newname string) error {
	if err := from.checkName("rename", oldname); err != nil {
		return err
	}
	if err := to.checkName("rename", newname); err != nil {
		return err
	}
	if err := unix.Renameat(from.fd, oldname, to.fd, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: from.path + "/" + oldname, New: to.path + "/" + newname, Err: err}
	}
	return nil
}

// Link makes newname in to a new hard link to the entry oldname of from
// (a symlink itself, never what it names); newname must not exist.
func Link(from *Dir, oldname string, to *Dir, newname string) error {
	if err := from.checkName("link", oldname); err != nil {
		return err
	}
	if err := to.checkName("link", newname); err != nil {
		return err
	}
	if err := unix.Linkat(from.fd, oldname, to.fd, newname, 0); err != nil {
		return &os.LinkError{Op: "link", Old: from.path + "/" + oldname, New: to.path + "/" + newname, Err: err}
	}
	return nil
}
