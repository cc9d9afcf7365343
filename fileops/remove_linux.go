package fileops

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// RemoveTree deletes path and, if it is a directory, everything under it,
// like os.RemoveAll, but also when directories in it are read-only (each is
// made u+rwx before its content is removed). It never follows a symlink: a
// symlink is removed, its target is not touched, and every directory below
// path is reached beneath path's descriptor (ResolveBeneath), so a
// directory replaced by a symlink meanwhile stops the removal with a
// *SymlinkError instead of leading it outside. Up to jobs goroutines each
// take a whole directory, unlink its entries relative to the directory's
// descriptor and hand its subdirectories to the others; a directory is
// removed as soon as it and its subdirectories are empty. A missing path
// is not an error. No goroutine outlives the call.
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
	top, err := OpenTree(path)
	if err != nil {
		return ignoreNotExist(err)
	}
	defer top.Close()
	q := &dirQueue{}
	q.cond = sync.NewCond(&q.mu)
	root := &rmDir{top: top}
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
	top     *Tree  // the directory RemoveTree was given
	rel     string // below top; "" is top itself
	parent  *rmDir
	pending atomic.Int64
}

func (d *rmDir) path() string {
	if d.rel == "" {
		return d.top.path
	}
	return d.top.path + "/" + d.rel
}

// empty unlinks d's non-directory entries, queues its subdirectories and
// then releases d's own share of pending.
func (d *rmDir) empty(q *dirQueue) error {
	f, err := d.openForRemoval()
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
				c := &rmDir{top: d.top, rel: joinRel(d.rel, ent.Name()), parent: d}
				c.pending.Store(1)
				d.pending.Add(1)
				q.push(c)
				continue
			}
			if err := ignoreNotExist(unix.Unlinkat(fd, ent.Name(), 0)); err != nil {
				return &os.PathError{Op: "unlink", Path: d.path() + "/" + ent.Name(), Err: err}
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
// (from its parent's descriptor, the top one by its path) and releases the
// parent's share.
func (d *rmDir) release() error {
	for ; d != nil; d = d.parent {
		if d.pending.Add(-1) > 0 {
			return nil
		}
		if err := ignoreNotExist(d.rmdir()); err != nil {
			return &os.PathError{Op: "rmdir", Path: d.path(), Err: err}
		}
	}
	return nil
}

func (d *rmDir) rmdir() error {
	if d.rel == "" {
		return OnPath(d.top.path, unix.Rmdir)
	}
	dir, name := "", d.rel
	if i := strings.LastIndexByte(d.rel, '/'); i >= 0 {
		dir, name = d.rel[:i], d.rel[i+1:]
	}
	pfd, err := OpenBeneath(d.top.fd, dir, unix.O_PATH)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	return unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR)
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
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

// openForRemoval opens d beneath the top directory without following a
// symlink and makes it u+rwx, so that its entries can be listed and
// removed without root.
func (d *rmDir) openForRemoval() (*os.File, error) {
	fd, err := OpenBeneath(d.top.fd, d.rel, unix.O_RDONLY)
	if errors.Is(err, unix.EACCES) {
		// Unreadable: make it readable through a descriptor that needs no
		// permission (the very directory, not what its name says now).
		if perr := d.chmodUnreadable(); perr != nil {
			return nil, &os.PathError{Op: "open", Path: d.path(), Err: err}
		}
		fd, err = OpenBeneath(d.top.fd, d.rel, unix.O_RDONLY)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: d.path(), Err: err}
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	if err == nil && st.Mode&0o700 != 0o700 {
		err = unix.Fchmod(fd, st.Mode&0o7777|0o700)
	}
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "chmod", Path: d.path(), Err: err}
	}
	return os.NewFile(uintptr(fd), d.path()), nil
}

// chmodUnreadable adds u+rwx to d, which cannot be opened for reading.
func (d *rmDir) chmodUnreadable() error {
	fd, err := OpenBeneath(d.top.fd, d.rel, unix.O_PATH)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	return unix.Chmod(procFD(fd), st.Mode&0o7777|0o700)
}

// ignoreNotExist returns nil for an error saying the file does not exist.
func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
