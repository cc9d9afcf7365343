package fileops

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// RemoveTree deletes path and, if it is a directory, everything under it,
// like os.RemoveAll, but also when directories in it are read-only (each is
// made u+rwx before its content is removed). It never follows a symlink: a
// symlink is removed, its target is not touched. Up to jobs goroutines each
// take a whole directory, unlink its entries relative to the directory's
// descriptor (no path lookups) and hand its subdirectories to the others;
// a directory is removed as soon as it and its subdirectories are empty. A
// missing path is not an error. No goroutine outlives the call.
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
	q := &dirQueue{}
	q.cond = sync.NewCond(&q.mu)
	root := &rmDir{path: path}
	root.pending.Store(1)
	q.push(root)
	var g errgroup.Group
	for range max(jobs, 1) {
		g.Go(func() error {
			for d := q.pop(); d != nil; d = q.pop() {
				err := d.empty(q)
				q.finished(err)
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// rmDir is a directory being removed. pending counts its own listing plus
// its subdirectories not yet removed; at zero the directory goes.
type rmDir struct {
	path    string
	parent  *rmDir
	pending atomic.Int64
}

// empty unlinks d's non-directory entries, queues its subdirectories and
// then releases d's own share of pending.
func (d *rmDir) empty(q *dirQueue) error {
	f, err := openForRemoval(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return d.release()
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fd := int(f.Fd())
	for {
		ents, rerr := f.ReadDir(1024)
		for _, ent := range ents {
			if ent.IsDir() {
				c := &rmDir{path: d.path + "/" + ent.Name(), parent: d}
				c.pending.Store(1)
				d.pending.Add(1)
				q.push(c)
				continue
			}
			if err := ignoreNotExist(unix.Unlinkat(fd, ent.Name(), 0)); err != nil {
				return &os.PathError{Op: "unlink", Path: d.path + "/" + ent.Name(), Err: err}
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	return d.release()
}

// release drops one share of pending; the last one removes the directory
// and releases the parent's share.
func (d *rmDir) release() error {
	for ; d != nil; d = d.parent {
		if d.pending.Add(-1) > 0 {
			return nil
		}
		if err := ignoreNotExist(OnPath(d.path, unix.Rmdir)); err != nil {
			return &os.PathError{Op: "rmdir", Path: d.path, Err: err}
		}
	}
	return nil
}

// dirQueue hands directories to workers, newest first (depth first keeps
// the working set small). pop returns nil once the queue is empty and no
// worker can add more, or after a failure.
type dirQueue struct {
	mu     sync.Mutex // guards the fields below
	cond   *sync.Cond
	dirs   []*rmDir
	active int
	failed bool
}

func (q *dirQueue) push(d *rmDir) {
	q.mu.Lock()
	q.dirs = append(q.dirs, d)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *dirQueue) pop() *rmDir {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.dirs) == 0 && q.active > 0 && !q.failed {
		q.cond.Wait()
	}
	if q.failed || len(q.dirs) == 0 {
		return nil
	}
	d := q.dirs[len(q.dirs)-1]
	q.dirs = q.dirs[:len(q.dirs)-1]
	q.active++
	return d
}

// finished marks a popped directory done (err non-nil stops everyone).
func (q *dirQueue) finished(err error) {
	q.mu.Lock()
	q.active--
	if err != nil {
		q.failed = true
	}
	q.mu.Unlock()
	q.cond.Broadcast()
}

// openForRemoval opens the directory dir without following a symlink and
// makes it u+rwx, so that its entries can be listed and removed without root.
func openForRemoval(path string) (*os.File, error) {
	dir, release, err := ShortPath(path) // trees of any depth
	if err != nil {
		return nil, err
	}
	defer release()
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
