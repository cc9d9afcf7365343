// Package durable owns how lvback makes a file or a name survive a crash
// or a power loss: a whole file replaced the renameio way (temporary file
// in the same directory, write, fsync, close, rename, then an fsync of the
// directory, which renameio itself skips), a rename or a removal followed
// by an fsync of the directories involved, and the fsync of a directory or
// syncfs of a file system on their own.
//
// It never decides what is written or where, never retries, and imports
// nothing of lvback: every package that must make something durable uses
// it, so the sequence of calls is written down once.
package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Rename renames oldpath to newpath, then fsyncs the directory of newpath
// and, when it is another one, the directory of oldpath. When it returns
// nil the rename survives a crash. When the rename itself fails the error
// is an *os.LinkError and nothing changed; any other error is an fsync's:
// the rename happened but may not be durable.
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	oldDir, newDir := filepath.Dir(oldpath), filepath.Dir(newpath)
	if err := SyncDir(newDir); err != nil {
		return err
	}
	if oldDir != newDir {
		return SyncDir(oldDir)
	}
	return nil
}

// Remove removes the file or empty directory at path and fsyncs its
// directory, so the name does not come back after a crash. A path that
// does not exist is not an error: the directory is fsynced all the same,
// which makes an earlier removal durable too.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return SyncDir(filepath.Dir(path))
}
