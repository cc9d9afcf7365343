package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// TempSuffix ends the name of every temporary file of Create: the file
// for PATH is ".BASE.DIGITS.tmp" beside it, BASE being PATH's last
// element, so that what a crash leaves can be recognised and removed.
const TempSuffix = ".tmp"

// maxTempTries bounds the names Create tries before it gives up.
const maxTempTries = 10000

// File is a file being written that appears under its final path only
// when Commit succeeds, whole and durable. Until then it is a temporary
// file in the same directory (see TempSuffix), which the embedded
// *os.File writes; never close that file directly: Commit or Cleanup
// does. A File is not safe for concurrent use, except what *os.File
// allows (WriteAt at different offsets).
type File struct {
	*os.File
	path   string
	closed bool // File was closed
	done   bool // renamed to path, or removed
}

// Create starts a file that Commit will put at path. The temporary file
// has mode perm less the umask. Callers should `defer f.Cleanup()`.
func Create(path string, perm fs.FileMode) (*File, error) {
	f, err := openTemp(path, perm)
	if err != nil {
		return nil, err
	}
	return &File{File: f, path: path}, nil
}

// openTemp creates a new, empty temporary file for path (see TempSuffix).
func openTemp(path string, perm fs.FileMode) (*os.File, error) {
	prefix := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".")
	for range maxTempTries {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10) + TempSuffix
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, &os.PathError{Op: "create temporary file for", Path: path, Err: fs.ErrExist}
}

// Commit fsyncs and closes the temporary file, renames it to the final
// path (replacing what was there) and fsyncs the directory. When it
// returns nil the file survives a crash. When it fails the temporary file
// is removed and the final path is untouched, unless the rename already
// happened (then only the directory fsync failed). Commit works once.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("commit %s: already committed or cleaned up", f.path)
	}
	err := f.File.Sync()
	f.closed = true
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path) // *os.LinkError names both
	}
	if err != nil {
		f.Cleanup()
		return err
	}
	f.done = true
	return SyncDir(filepath.Dir(f.path))
}

// Cleanup closes and removes the temporary file. It does nothing after
// Commit or a first Cleanup, so `defer f.Cleanup()` is always safe.
// Errors are ignored: the file is being discarded.
func (f *File) Cleanup() {
	if !f.closed {
		f.closed = true
		_ = f.File.Close() // discarding
	}
	if !f.done {
		f.done = true
		_ = os.Remove(f.Name()) // best effort: nothing else can be done
	}
}

// WriteFile writes data to path the way Create and Commit do: path holds
// either its old content or data, never a mix, and data survives a crash
// once WriteFile returns nil. A new file gets mode perm less the umask; a
// regular file it replaces passes on its permission bits. On error
// nothing is left behind but, when only the final directory fsync failed,
// the new file.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	keep, err := existingPerm(path)
	if err != nil {
		return err
	}
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Cleanup()
	if keep != nil {
		if err := f.Chmod(*keep); err != nil {
			return err
		}
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// existingPerm returns the permission bits of the regular file at path,
// nil when there is none.
func existingPerm(path string) (*fs.FileMode, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil
	}
	perm := fi.Mode().Perm()
	return &perm, nil
}
