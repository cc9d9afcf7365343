package blockdiff

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/durable"
)

// target is where Restore writes: a block device, or a temporary file
// that replaces a regular file on commit.
//
// Whole aligned chunks are written through a second descriptor with
// O_DIRECT when the file system allows it: restoring a 1 GiB image that
// way, dd measured 1.6-2.3 s and 0.2 s of CPU, against 2.6-5.5 s and
// 0.6-1.5 s through the page cache and an fsync; and the server's page
// cache is not flooded with image data. Other writes (a short last chunk,
// or when O_DIRECT is refused) go through f.
type target struct {
	f      *os.File
	direct *os.File    // the same file opened with O_DIRECT, or nil
	noDir  atomic.Bool // a direct write failed with EINVAL: use f only
	device bool
	path   string        // what the caller named
	file   *durable.File // regular files: the temporary file f is, replacing path on commit
	done   bool          // committed or aborted
}

// openDirect opens the direct descriptor of t, if the file system has
// O_DIRECT; without one, every write goes through f.
func (t *target) openDirect(name string) {
	if f, err := os.OpenFile(name, os.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0); err == nil {
		t.direct = f
	}
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
	removeStaleTemps(path)
	file, err := durable.Create(path, 0o600)
	if err != nil {
		return nil, err
	}
	t := &target{f: file.File, path: path, file: file}
	if err := file.Truncate(size); err != nil { // the holes: never written
		t.abort()
		return nil, err
	}
	t.openDirect(file.Name())
	return t, nil
}

// removeStaleTemps removes the temporary files that earlier restores to
// path left when they were killed: ".NAME.DIGITS.tmp" beside it, the
// names durable.Create gives them. Errors are ignored: a file left is only
// wasted space. (Two restores to one path at once are a mistake anyway:
// the second would remove the first one's file and make it fail.)
func removeStaleTemps(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+"."
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		mid, ok := strings.CutPrefix(name, prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if digits, ok := strings.CutSuffix(mid, ".tmp"); ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
			_ = os.Remove(filepath.Join(dir, name)) // see above
		}
	}
}

// writeAt writes b at off; safe for concurrent use at different offsets.
// b goes through the direct descriptor when it is a whole number of
// aligned blocks in an aligned buffer (see alignedBuffer).
func (t *target) writeAt(b []byte, off int64) error {
	if t.direct != nil && !t.noDir.Load() && isAligned(b, off) {
		_, err := t.direct.WriteAt(b, off)
		if err == nil {
			return nil
		}
		if !isEINVAL(err) {
			return fmt.Errorf("write %s: %w", t.path, err)
		}
		t.noDir.Store(true) // an alignment this device does not take
	}
	if _, err := t.f.WriteAt(b, off); err != nil {
		return fmt.Errorf("write %s: %w", t.path, err)
	}
	return nil
}

// isAligned reports whether b at off can be written with O_DIRECT.
func isAligned(b []byte, off int64) bool {
	return len(b) > 0 && len(b)%directAlign == 0 && off%directAlign == 0 &&
		uintptr(unsafe.Pointer(&b[0]))%directAlign == 0
}

// closeDirect closes the direct descriptor; its writes are in the file
// (O_DIRECT writes bypass only the page cache), and an fsync of f makes
// them durable.
func (t *target) closeDirect() {
	if t.direct != nil {
		_ = t.direct.Close() // nothing buffered: the writes are done
		t.direct = nil
	}
}

// sync flushes what was written so far to stable storage.
func (t *target) sync() error {
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", t.path, err)
	}
	return nil
}

// commit makes the restored image durable and, for a file, renames it
// into place and fsyncs the directory (durable.File.Commit, which drops
// the partial image when it fails).
func (t *target) commit() error {
	t.done = true
	t.closeDirect()
	if t.file != nil {
		return t.file.Commit()
	}
	err := t.f.Sync()
	if cerr := t.f.Close(); err == nil {
		err = cerr
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
	t.closeDirect()
	if t.file != nil {
		t.file.Cleanup()
		return
	}
	_ = t.f.Close() // discarding
}
