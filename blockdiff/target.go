package blockdiff

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lvback/lvback/fileops"
)

// target is where Restore writes: a block device, or a temporary file
// that replaces a regular file on commit.
type target struct {
	f      *os.File
	device bool
	path   string // what the caller named
	tmp    string // regular files: the temporary file
	done   bool   // committed or aborted
}

// openTarget opens path for an image of size bytes: a block device in
// place (see openDevice), else a new temporary file of that size beside
// path. Other file types are refused.
func openTarget(path string, size int64) (*target, error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		return openDevice(path, size)
	case err == nil && !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file or block device (%v)", path, fi.Mode().Type())
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	t := &target{f: f, path: path, tmp: f.Name()}
	if err := f.Truncate(size); err != nil { // the holes: never written
		t.abort()
		return nil, err
	}
	return t, nil
}

// writeAt writes b at off; safe for concurrent use at different offsets.
func (t *target) writeAt(b []byte, off int64) error {
	if _, err := t.f.WriteAt(b, off); err != nil {
		return fmt.Errorf("write %s: %w", t.path, err)
	}
	return nil
}

// sync flushes what was written so far to stable storage.
func (t *target) sync() error {
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", t.path, err)
	}
	return nil
}

// commit makes the restored image durable and, for a file, renames it
// into place and fsyncs the directory.
func (t *target) commit() error {
	t.done = true
	err := t.f.Sync()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !t.device {
		if err = os.Rename(t.tmp, t.path); err == nil {
			err = fileops.SyncDir(filepath.Dir(t.path))
		}
	}
	if err != nil && !t.device {
		_ = os.Remove(t.tmp) // the restore failed: drop the partial image
	}
	return err
}

// abort closes the target and removes a temporary file; a no-op after
// commit or a previous abort.
func (t *target) abort() {
	if t.done {
		return
	}
	t.done = true
	_ = t.f.Close() // discarding
	if !t.device {
		_ = os.Remove(t.tmp)
	}
}
