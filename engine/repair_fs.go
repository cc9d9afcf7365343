package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
)

// The file system steps of verify --repair: a checked copy beside the
// damaged file, renames over its names, and the directories' times.

// copyIntact copies the file at src to a new temporary file in dir with
// e's metadata, checks while copying that its content hashes to e.Hash,
// and fsyncs it. On any error nothing is left in dir.
func copyIntact(ctx context.Context, dir, src string, e *manifest.Entry) (tmp, note string, err error) {
	var f *os.File
	err = fileops.OnPath(src, func(p string) (err error) {
		f, err = os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		return err
	})
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	if !fi.Mode().IsRegular() || fi.Size() != e.Size {
		return "", "", fmt.Errorf("%s: %s of %d bytes, manifest says a file of %d", src, fi.Mode().Type(), fi.Size(), e.Size)
	}
	tmp = filepath.Join(dir, healTempName())
	var sum [32]byte
	err = fileops.OnPath(tmp, func(t string) (err error) {
		sum, _, err = fileops.CopyFileMeta(ctx, t, f, e)
		return err
	})
	if errors.Is(err, fileops.ErrNotPermitted) {
		note, err = err.Error(), nil
	}
	if err == nil && sum != e.Hash {
		err = fmt.Errorf("%s: content hash %x, manifest says %x", src, sum[:8], e.Hash[:8])
	}
	if err == nil {
		err = syncFile(tmp)
	}
	if err != nil {
		_ = fileops.OnPath(tmp, os.Remove)
		return "", "", err
	}
	return tmp, note, nil
}

// replaceNames renames tmp over names[0], then links each other name to
// the new inode through a temporary name renamed over it. It returns how
// many names now hold the new inode.
func replaceNames(names []treeName, tmp string) (int, error) {
	if err := rename(tmp, names[0].abs()); err != nil {
		_ = fileops.OnPath(tmp, os.Remove)
		return 0, err
	}
	for i, n := range names[1:] {
		t := filepath.Join(filepath.Dir(n.abs()), healTempName())
		if err := link(names[0].abs(), t); err != nil {
			return i + 1, err
		}
		if err := rename(t, n.abs()); err != nil {
			_ = fileops.OnPath(t, os.Remove)
			return i + 1, err
		}
	}
	return len(names), nil
}

// healTempName is a new name for a file being written beside a damaged
// one; a crash may leave it behind, and verify then reports it as extra.
func healTempName() string {
	var b [8]byte
	_, _ = io.ReadFull(rand.Reader, b[:])
	return ".lvback-heal-" + hex.EncodeToString(b[:])
}

// dirTimes are directories' access and modification times, saved before
// repair writes in them.
type dirTimes map[string][2]unix.Timespec

func saveDirTimes(names []treeName) dirTimes {
	t := dirTimes{}
	for _, n := range names {
		dir := filepath.Dir(n.abs())
		if _, ok := t[dir]; ok {
			continue
		}
		if st, err := lstat(dir); err == nil {
			t[dir] = [2]unix.Timespec{st.Atim, st.Mtim}
		}
	}
	return t
}

// restore puts the saved times back (verify compares a directory's mtime
// with its manifest) and fsyncs each directory, making the renames in it
// durable.
func (t dirTimes) restore() error {
	var errs []error
	for dir, ts := range t {
		err := fileops.OnPath(dir, func(p string) error {
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return &os.PathError{Op: "utimensat", Path: dir, Err: err}
			}
			return fileops.SyncDir(p)
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func lstat(path string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := fileops.OnPath(path, func(p string) error { return unix.Lstat(p, &st) })
	return st, err
}

// rename renames oldpath to newpath, whatever their lengths.
func rename(oldpath, newpath string) error {
	return fileops.OnPath(oldpath, func(o string) error {
		return fileops.OnPath(newpath, func(n string) error { return os.Rename(o, n) })
	})
}

// syncFile fsyncs the regular file at path.
func syncFile(path string) error {
	return fileops.OnPath(path, func(p string) error {
		f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
