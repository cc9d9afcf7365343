package fileops

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// RemoveTree deletes path and, if it is a directory, everything under it,
// like os.RemoveAll, but also when directories in it are read-only (each is
// made u+rwx before its content is removed). It never follows a symlink: a
// symlink is removed, its target is not touched. One goroutine lists the
// directories while up to jobs goroutines unlink their entries; directories
// are removed deepest first once they are empty. A missing path is not an
// error. No goroutine outlives the call.
func RemoveTree(path string, jobs int) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return ignoreNotExist(os.Remove(path))
	}
	g, ctx := errgroup.WithContext(context.Background())
	files := make(chan string, 1024)
	var dirs []string // written by the producer only, read after g.Wait
	g.Go(func() error {
		defer close(files)
		return queueTree(ctx, path, files, &dirs)
	})
	for range max(jobs, 1) {
		g.Go(func() error {
			for p := range files {
				if ctx.Err() != nil {
					return nil // another goroutine failed; it reports why
				}
				if err := ignoreNotExist(unix.Unlink(p)); err != nil {
					return &os.PathError{Op: "unlink", Path: p, Err: err}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, d := range slices.Backward(dirs) {
		if err := ignoreNotExist(unix.Rmdir(d)); err != nil {
			return &os.PathError{Op: "rmdir", Path: d, Err: err}
		}
	}
	return nil
}

// queueTree sends every non-directory under dir to files and appends dir and
// the directories under it to dirs, parents before children.
func queueTree(ctx context.Context, dir string, files chan<- string, dirs *[]string) error {
	d, err := openForRemoval(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	*dirs = append(*dirs, dir)
	for {
		ents, err := d.ReadDir(1024)
		for _, ent := range ents {
			p := dir + "/" + ent.Name()
			if ent.IsDir() {
				if err := queueTree(ctx, p, files, dirs); err != nil {
					return err
				}
				continue
			}
			select {
			case files <- p:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// openForRemoval opens the directory dir without following a symlink and
// makes it u+rwx, so that its entries can be listed and removed without root.
func openForRemoval(dir string) (*os.File, error) {
	const flags = os.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW
	d, err := os.OpenFile(dir, flags, 0)
	if errors.Is(err, fs.ErrPermission) {
		// Unreadable: make it readable by path (lstat just before guards
		// against a symlink put in its place since the listing), then retry.
		fi, lerr := os.Lstat(dir)
		if lerr != nil || !fi.IsDir() {
			return nil, err
		}
		if err := os.Chmod(dir, fi.Mode()|0o700); err != nil {
			return nil, err
		}
		d, err = os.OpenFile(dir, flags, 0)
	}
	if err != nil {
		return nil, err
	}
	fi, err := d.Stat()
	if err == nil && fi.Mode().Perm()&0o700 != 0o700 {
		err = d.Chmod(fi.Mode() | 0o700)
	}
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// ignoreNotExist returns nil for an error saying the file does not exist.
func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
