package engine

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/walker"
)

var (
	errNoSpace  = unix.ENOSPC
	errQuota    = unix.EDQUOT
	errReadOnly = unix.EROFS
	errTooMany  = unix.EMLINK
)

// toEntry turns what the walker saw into a manifest record.
func toEntry(we *walker.Entry) *manifest.Entry {
	st := &we.Stat
	e := &manifest.Entry{
		Path: we.Path, Type: typeOf(st.Mode), Mode: st.Mode & 0o7777,
		UID: st.Uid, GID: st.Gid, Mtime: fileops.FromTimespec(st.Mtim), Ctime: fileops.FromTimespec(st.Ctim),
		Inode: st.Ino, Target: we.Target, Xattrs: we.Xattrs,
	}
	switch e.Type {
	case manifest.TypeFile:
		e.Size = st.Size
	case manifest.TypeChar, manifest.TypeBlock:
		e.Rdev = st.Rdev
	}
	return e
}

func typeOf(mode uint32) manifest.Type {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return manifest.TypeDir
	case unix.S_IFLNK:
		return manifest.TypeSymlink
	case unix.S_IFIFO:
		return manifest.TypeFIFO
	case unix.S_IFCHR:
		return manifest.TypeChar
	case unix.S_IFBLK:
		return manifest.TypeBlock
	case unix.S_IFSOCK:
		return manifest.TypeSocket
	}
	return manifest.TypeFile
}

// openSource opens a source file for reading without following a symlink
// and without touching its atime, and refuses it if it is no longer the
// regular file with the inode the walk saw.
func openSource(path string, ino uint64) (*os.File, error) {
	name, release, err := fileops.ShortPath(path)
	if err != nil {
		return nil, err
	}
	defer release()
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Open(name, flags|unix.O_NOATIME, 0)
	if err == unix.EPERM { // O_NOATIME needs ownership or CAP_FOWNER
		fd, err = unix.Open(name, flags, 0)
	}
	switch {
	case err == unix.ENOENT:
		return nil, fmt.Errorf("%s: vanished during the backup: %w", path, err)
	case err == unix.ELOOP: // O_NOFOLLOW met a symlink
		return nil, fmt.Errorf("%s: replaced by a symlink during the backup", path)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != ino {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: replaced during the backup", path)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// contentStamp is what betrays a write to a file: its size, mtime and
// ctime.
type contentStamp struct {
	size         int64
	mtime, ctime manifest.Time
}

// stampOf returns the open file's current content stamp.
func stampOf(f *os.File) (contentStamp, error) {
	st, err := statOf(f)
	return stampFrom(st), err
}

func stampFrom(st *unix.Stat_t) contentStamp {
	if st == nil {
		return contentStamp{}
	}
	return contentStamp{size: st.Size, mtime: fileops.FromTimespec(st.Mtim), ctime: fileops.FromTimespec(st.Ctim)}
}

// statOf fstats an open file.
func statOf(f *os.File) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return &st, nil
}
