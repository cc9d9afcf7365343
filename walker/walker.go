// Package walker reads a directory tree concurrently and hands its entries
// to one callback in a deterministic depth-first order (manifest.Compare).
// It only reads: it never opens file contents and never writes.
package walker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
)

// Entry is one file system object found by Walk.
type Entry struct {
	Path   string // relative to the walk root, slash-separated; "" is the root
	Stat   unix.Stat_t
	Target string // symlink target
	Xattrs []manifest.Xattr

	dir      *dirNode // listing of a directory that Walk descends into
	excluded bool     // left out by Options.Rules: handed to OnExcluded only
}

// Options tune a walk. The zero value walks with one reader.
type Options struct {
	// Jobs is how many goroutines read directories ahead of the callback.
	Jobs int
	// OneFileSystem stops descent at mount points (the mount point itself is
	// still reported, empty), as a snapshot of one volume needs.
	OneFileSystem bool
	// Exclude lists paths (relative, slash-separated) that are left out of
	// the walk together with everything below them.
	Exclude []string
	// Rules, when set, leaves out the entries its patterns match (a
	// directory with everything below it, never read) and everything but
	// the markers in a directory holding one of Rules.Markers (a
	// CACHEDIR.TAG only when it is valid).
	Rules *exclude.Rules
	// OnExcluded, when set, is called with each entry Rules left out (not
	// with what is below it), in walk order, from fn's goroutine; its
	// Xattrs and Target are not read. An error aborts the walk.
	OnExcluded func(*Entry) error
	// XattrsKnownEmpty, when set, is asked about each entry below the root
	// (from several goroutines at once); when it returns true, Walk does not
	// read the entry's xattrs and leaves Entry.Xattrs nil. A backup answers
	// from the previous backup's manifest: an inode that had no xattrs and
	// whose ctime has not moved has none now (setting one moves ctime).
	XattrsKnownEmpty func(st *unix.Stat_t) bool
	// OnError decides what a per-entry failure does (an unreadable
	// directory, a failed lstat, readlink or xattr read): nil records it and
	// goes on without that entry or listing, an error aborts the walk. A nil
	// OnError aborts on every error. It is called from fn's goroutine only.
	OnError func(path string, err error) error
	// Forbidden lists directories, by device and inode, that the walk must
	// never reach: meeting one, the root included and whatever the path
	// (a bind mount, a symlinked parent elsewhere), aborts the walk before
	// fn sees it with a *ForbiddenError naming the path. A backup forbids
	// its repository, so that it never backs up into itself.
	Forbidden []FileID
}

// FileID identifies a file by device and inode number.
type FileID struct{ Dev, Ino uint64 }

// ForbiddenError is Walk's error when it meets one of Options.Forbidden.
type ForbiddenError struct {
	Path string // where it was met, relative to the walk root
	ID   FileID
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("%q is a directory the walk must not reach (device %d, inode %d)", e.Path, e.ID.Dev, e.ID.Ino)
}

// maxAhead bounds how many directories may be read ahead of the callback,
// so memory stays flat on trees of millions of entries.
const maxAhead = 512

// Walk reads root and calls fn once per entry, parent before children,
// siblings in byte order of their names, all from one goroutine. An error
// from fn, from reading root itself, or from OnError aborts the walk; a child
// that vanished between readdir and lstat is silently left out, a directory
// that vanished after it was reported and before it was listed goes to
// OnError. No goroutine outlives the call.
func Walk(ctx context.Context, root string, opts Options, fn func(*Entry) error) error {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return fmt.Errorf("lstat %s: %w", root, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s: not a directory", root)
	}
	xs, err := fileops.ListXattrs(root)
	if err != nil {
		return fmt.Errorf("read xattrs of %s: %w", root, err)
	}
	if opts.OnError == nil {
		opts.OnError = func(_ string, err error) error { return err }
	}
	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	defer unix.Close(rootFD)
	w := &walk{root: root, rootFD: rootFD, opts: opts, rootDev: st.Dev, queue: make(chan *dirNode, maxAhead)}
	top := &Entry{Path: "", Stat: st, Xattrs: xs, dir: &dirNode{path: ""}}

	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	defer func() {
		cancel()
		_ = g.Wait() // prefetchers stop on cancel and never fail; also when fn panics
	}()
	for range max(opts.Jobs, 1) {
		g.Go(func() error { w.prefetch(gctx); return nil })
	}
	return w.emit(ctx, top, fn)
}

type walk struct {
	root    string
	rootFD  int // O_PATH descriptor of root, open for the whole walk
	opts    Options
	rootDev uint64
	queue   chan *dirNode // directories offered for reading ahead
	loaded  atomic.Int64  // listings read ahead and not yet emitted
}

// dirNode is one directory's listing, read once by whoever gets there first.
type dirNode struct {
	path       string
	once       sync.Once
	prefetched bool // read by a prefetcher; set inside once
	children   []*Entry
	errs       []entryError // failures met while listing, reported by emit
}

type entryError struct {
	path string
	err  error
}

// prefetch reads offered directories ahead of emit until ctx ends. Beyond
// maxAhead unconsumed listings it drops offers: emit reads those itself.
func (w *walk) prefetch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-w.queue:
			if w.loaded.Load() >= maxAhead {
				continue
			}
			d.once.Do(func() {
				d.load(w)
				d.prefetched = true
				w.loaded.Add(1)
				w.offer(d)
			})
		}
	}
}

// offer queues d's subdirectories for reading ahead without blocking.
func (w *walk) offer(d *dirNode) {
	for _, c := range d.children {
		if c.dir == nil {
			continue
		}
		select {
		case w.queue <- c.dir:
		default:
			return
		}
	}
}

// emit hands e and, depth first, everything below it to fn.
func (w *walk) emit(ctx context.Context, e *Entry, fn func(*Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.forbidden(&e.Stat) {
		return &ForbiddenError{Path: e.Path, ID: FileID{e.Stat.Dev, e.Stat.Ino}}
	}
	if err := fn(e); err != nil {
		return err
	}
	d := e.dir
	if d == nil {
		return nil
	}
	d.once.Do(func() {
		d.load(w)
		w.offer(d)
	})
	if d.prefetched {
		w.loaded.Add(-1)
	}
	for _, fe := range d.errs {
		if fe.path == "" { // the root listing failed: nothing to back up
			return fmt.Errorf("%s: %w", w.root, fe.err)
		}
		if err := w.opts.OnError(fe.path, fe.err); err != nil {
			return err
		}
	}
	children := d.children
	d.children, d.errs = nil, nil // free the listing as we go
	for _, c := range children {
		if c.excluded {
			if err := w.excluded(c); err != nil {
				return err
			}
			continue
		}
		if err := w.emit(ctx, c, fn); err != nil {
			return err
		}
	}
	return nil
}

// forbidden reports whether st is a directory of Options.Forbidden.
func (w *walk) forbidden(st *unix.Stat_t) bool {
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false
	}
	for _, id := range w.opts.Forbidden {
		if id.Dev == st.Dev && id.Ino == st.Ino {
			return true
		}
	}
	return false
}

// excluded hands an entry Rules left out to OnExcluded.
func (w *walk) excluded(e *Entry) error {
	if w.opts.OnExcluded == nil {
		return nil
	}
	return w.opts.OnExcluded(e)
}
