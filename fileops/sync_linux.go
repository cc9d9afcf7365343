package fileops

import (
	"os"

	"golang.org/x/sys/unix"
)

// SyncFS flushes the whole file system that holds path (a directory or a
// regular file) with syncfs(2): when it returns nil, every file written to
// that file system so far is durable.
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

// SyncDir fsyncs the directory at path: when it returns nil, the names
// created, renamed or removed in it so far are durable.
func SyncDir(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
