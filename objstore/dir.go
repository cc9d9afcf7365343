package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvback/lvback/internal/durable"
)

// Dir is a Store in a local directory (or a shared POSIX file system): an
// object is a file at its name below the root, written the durable way
// (temporary file, fsync, rename, directory fsync).
type Dir struct {
	root string
}

var _ Store = (*Dir)(nil)

// OpenDir returns the Store rooted at dir, which must exist.
func OpenDir(dir string) (*Dir, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	return &Dir{root: dir}, nil
}

func (d *Dir) path(name string) string { return filepath.Join(d.root, filepath.FromSlash(name)) }

// Put implements Store.
func (d *Dir) Put(ctx context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := d.path(name)
	err := durable.WriteFile(p, data, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err = d.mkdirs(filepath.Dir(p)); err == nil {
			err = durable.WriteFile(p, data, 0o600)
		}
	}
	return err
}

// mkdirs creates dir and its missing parents below the root, each made
// durable in its parent.
func (d *Dir) mkdirs(dir string) error {
	if dir == d.root {
		return nil
	}
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := d.mkdirs(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return durable.SyncDir(filepath.Dir(dir))
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(d.path(name))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotExist)
	}
	return b, err
}

// Stat implements Store.
func (d *Dir) Stat(ctx context.Context, name string) (Info, error) {
	if err := checkName(name); err != nil {
		return Info{}, err
	}
	fi, err := os.Lstat(d.path(name))
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("%s: %w", name, ErrNotExist)
	}
	if err != nil {
		return Info{}, err
	}
	return Info{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// List implements Store. Temporary files of Puts in progress are never
// listed.
func (d *Dir) List(ctx context.Context, prefix string, fn func(Info) error) error {
	start := d.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if !ValidName(prefix[:i]) {
			return fmt.Errorf("invalid object prefix %q", prefix)
		}
		start = d.path(prefix[:i])
	}
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != start {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !strings.HasPrefix(name, prefix) {
			return nil
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		return fn(Info{Name: name, Size: fi.Size(), ModTime: fi.ModTime()})
	})
	return err
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	err := os.Remove(d.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// String implements Store.
func (d *Dir) String() string { return d.root }
