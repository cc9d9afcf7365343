package durable

import (
	"os"

	"golang.org/x/sys/unix"
)

// SyncDir fsyncs the directory dir: when it returns nil, the names
// created, renamed or removed in it so far survive a crash. A path that is
// not a directory is an error. Errors are *os.PathError values naming dir.
func SyncDir(dir string) error {
	return SyncDirAt(unix.AT_FDCWD, dir)
}

// SyncDirAt is SyncDir for the directory name relative to the directory
// descriptor dirfd, as openat(2) resolves it (name "." is dirfd itself,
// which may be an O_PATH descriptor; unix.AT_FDCWD makes it SyncDir).
func SyncDirAt(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	err = unix.Fsync(fd)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: name, Err: err}
	}
	return nil
}

// SyncFS flushes the whole file system that holds path (a directory or a
// regular file) with syncfs(2): when it returns nil, every file written to
// that file system so far, and every name made in it, survives a crash.
func SyncFS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: path, Err: err}
	}
	return nil
}
