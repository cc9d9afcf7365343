package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/internal/durable"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/walker"
)

// fileRun is the state of one file-mode backup (Backup). Fields without
// a comment are set once before the run starts.
type fileRun struct {
	o            BackupOptions
	src          string // source root
	dst          string // new tree root
	manifest     string // new manifest path
	prev         *repo.Backup
	prevStart    int64
	damaged      damagedSet     // verify's damaged inodes of this name, by path
	prevTree     *fileops.Tree  // prev's tree, nil without one (see openPrevTree)
	rules        *exclude.Rules // the user's exclude rules; nil for none
	excludedPath string         // where the excluded list goes

	noReflink atomic.Bool // set once FICLONE failed as unsupported
	// cloneSource (subvolume layout) shares a copied file's extents with
	// the source (FICLONE) instead of writing its bytes, when both are
	// on one btrfs; noSourceClone is set once that failed as unsupported.
	cloneSource   bool
	noSourceClone atomic.Bool
	st            stats
	errs          errorLog

	// inPlace says the new tree starts as a snapshot of prev's (the
	// subvolume layout, see subvolume.go): unchanged entries are left as
	// they are, and entries of prev the walk does not find are removed.
	inPlace bool
	// base (in place) is prev's tree; the new tree is snapshotted from it
	// when the run first changes something (ensureTree), or read-only at
	// the end when it changed nothing (seal).
	base        string
	baseOnce    sync.Once
	baseErr     error           // from the snapshot baseOnce made
	baseMade    atomic.Bool     // the writable snapshot exists
	clearMu     sync.Mutex      // guards clearFailed and touched
	clearFailed error           // the first entry that could not be removed from the tree
	touched     map[string]bool // directories of an in-place tree whose entries changed

	// Owned by the walk callback goroutine.
	origin   *prevCursor         // with BackupOptions.Origin: its manifest, streamed alongside the walk
	groups   map[devIno]*pending // first path of each multiply-linked inode
	dirs     []*manifest.Entry   // directories, in walk order
	dirsSame []bool              // in place: dirs[i]'s metadata is prev's
	batch    []*fileJob          // files of batchDir not yet handed to a worker
	batchDir string
}

type devIno struct{ dev, ino uint64 }

// stats are the run's counters; workers update them concurrently.
type stats struct {
	files, dirs, symlinks, specials atomic.Int64
	size, added                     atomic.Int64
	copied, linked, reflinked       atomic.Int64
	damagedCopied                   atomic.Int64 // of copied: the previous inode is recorded damaged
}

// errorLog records skipped entries: an exact count and the first few.
type errorLog struct {
	mu      sync.Mutex // guards samples and count
	count   int64
	samples []repo.EntryError
	log     *slog.Logger
}

func (l *errorLog) add(path string, err error) {
	l.log.Warn("skipped", "path", path, "err", err)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count++
	if len(l.samples) < maxErrorSamples {
		l.samples = append(l.samples, repo.EntryError{Path: path, Error: err.Error()})
	}
}

// pending is an entry waiting for its file work before it goes into the
// manifest. done is closed when the work ended; err then says whether the
// entry was skipped.
type pending struct {
	e    *manifest.Entry
	done chan struct{}
	err  error
	// keptInode (in place, a regular file) says the tree's inode at e's
	// path is the snapshot's, left or changed in place, not replaced:
	// paths hard-linked to it in the snapshot still are.
	keptInode bool
	// origin (BackupOptions.Origin) is the origin manifest's record of
	// e's path; nil when it has none.
	origin *manifest.Entry
}

// recorded is the entry as the manifest records it: e, but with
// BackupOptions.Origin the inode number and ctime the origin's manifest
// records for the path (the live source's, not those of the origin's
// tree that the walk saw). e itself keeps what the walk saw: the copy
// opens and checks the origin's tree by it.
func (p *pending) recorded() *manifest.Entry {
	if p.origin == nil || p.origin.Type != p.e.Type {
		return p.e
	}
	e := *p.e
	e.Inode, e.Ctime = p.origin.Inode, p.origin.Ctime
	return &e
}

func newPending(e *manifest.Entry) *pending {
	return &pending{e: e, done: make(chan struct{})}
}

func (p *pending) finish(err error) {
	p.err = err
	close(p.done)
}

func newFileRun(o BackupOptions, src string, p *repo.Pending, prev *repo.Backup) *fileRun {
	r := &fileRun{o: o, src: src, dst: p.TreePath(), manifest: p.ManifestPath(), prev: prev,
		excludedPath: p.ExcludedPath(), groups: make(map[devIno]*pending), touched: make(map[string]bool)}
	r.errs.log = o.Log
	if prev != nil {
		r.prevStart = prev.Info.Started.UnixNano()
		if o.Origin == nil { // a copy's total is the origin's size, Copy's to set
			o.Progress.expect(prev.Info.Size)
		}
	}
	return r
}

// createManifest is manifest.Create; a test makes it write elsewhere to
// fill a disk under the manifest alone.
var createManifest = manifest.Create

// do walks the source, writes the tree and the manifest, and returns the
// run's info (without the fields Backup fills in).
func (r *fileRun) do(ctx context.Context) (*repo.Info, error) {
	forbidden, err := forbiddenDirs(r.o.Repo, r.madeTree())
	if err != nil {
		return nil, err
	}
	mw, err := createManifest(r.manifest)
	if err != nil {
		return nil, err
	}
	defer mw.Abort()
	xl, err := r.openExcluded()
	if err != nil {
		return nil, err
	}
	defer xl.abort()
	prev := r.openPrev()
	defer prev.close()
	if r.origin, err = r.openOrigin(); err != nil {
		return nil, err
	}
	defer r.origin.close()
	defer r.openPrevTree()()

	jobs := make(chan []*fileJob, 2*r.o.Jobs)
	ordered := make(chan *pending, orderedWindow)
	g, gctx := errgroup.WithContext(ctx)
	for range r.o.Jobs {
		g.Go(func() error { return r.work(gctx, jobs) })
	}
	g.Go(func() error { return writeOrdered(gctx, ordered, mw) })
	g.Go(func() error {
		defer close(ordered)
		defer close(jobs)
		opts := walker.Options{Jobs: r.o.Jobs, OneFileSystem: true, Exclude: r.o.Exclude,
			XattrsKnownEmpty: r.xattrsKnownEmpty(), Forbidden: forbidden, Rules: r.rules,
			OnError: func(path string, err error) error { r.errs.add(path, err); return nil }}
		if xl != nil {
			opts.OnExcluded = xl.add
		}
		err := walker.Walk(gctx, r.src, opts, func(we *walker.Entry) error {
			return r.visit(gctx, we, prev, jobs, ordered)
		})
		if err != nil {
			return repoMet(err, r.src, r.o.Repo)
		}
		prev.drain() // in place: what is left of prev is gone
		if r.inPlace && prev.damaged != nil {
			return fmt.Errorf("the previous backup's manifest is damaged past the point read, so what was deleted since is unknown: %w", prev.damaged)
		}
		return r.flush(gctx, jobs)
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if r.clearFailed != nil {
		return nil, r.clearFailed
	}
	if err := r.finishDirs(); err != nil {
		return nil, err
	}
	if tree := r.madeTree(); tree != "" {
		if err := durable.SyncFS(tree); err != nil {
			return nil, err
		}
	}
	sum, err := r.commitManifest(mw)
	if err != nil {
		return nil, err
	}
	excluded, err := xl.commit()
	if err != nil {
		return nil, err
	}
	info := r.info(mw.Count(), sum)
	info.Excluded = excluded
	return info, nil
}

// commitManifest makes the run's manifest durable and returns its BLAKE3.
// A manifest byte for byte the previous backup's (nothing changed) shares
// that one's extents where the file system can (a reflink: btrfs, XFS),
// instead of being written again; its own temporary file is dropped
// before it reaches the disk.
func (r *fileRun) commitManifest(mw *manifest.Writer) (string, error) {
	if err := mw.Finish(); err != nil {
		return "", fmt.Errorf("write manifest: %w", err)
	}
	sum, err := hashFile(mw.TempName())
	if err != nil {
		return "", fmt.Errorf("read back manifest: %w", err)
	}
	if r.prev != nil && sum == r.prev.Info.ManifestBLAKE3 {
		switch err := shareFile(r.prev.ManifestPath(), r.manifest, sum); {
		case err == nil:
			mw.Abort()
			return sum, nil
		case !errors.Is(err, fileops.ErrNoReflink) && !errors.Is(err, errNotSame):
			return "", fmt.Errorf("share the previous manifest: %w", err)
		}
	}
	if err := mw.Commit(); err != nil {
		return "", fmt.Errorf("write manifest: %w", err)
	}
	return sum, nil
}

// errNotSame reports a file that no longer holds what it should.
var errNotSame = errors.New("content differs from its recorded hash")

// shareFile puts at path, durably, a reflink of the file at from, whose
// content must hash to sum (checked on the copy): a damaged previous
// file is never passed on. It fails with ErrNoReflink where the file
// system cannot share extents.
func shareFile(from, path, sum string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := durable.Create(path, 0o600)
	if err != nil {
		return err
	}
	defer out.Cleanup()
	if err := fileops.Clone(out.File, in); err != nil {
		return err
	}
	got, err := hashFile(out.Name())
	if err != nil {
		return err
	}
	if got != sum {
		return fmt.Errorf("%s: %w", from, errNotSame)
	}
	return out.Commit()
}

// writeOrdered adds entries to the manifest in walk order as their work
// completes; skipped entries are left out.
func writeOrdered(ctx context.Context, ordered <-chan *pending, mw *manifest.Writer) error {
	for p := range ordered {
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if p.err != nil {
			continue
		}
		if err := mw.Add(p.recorded()); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
	}
	return nil
}

// finishDirs sets each directory's metadata after its content is written,
// deepest first (reverse walk order), the root last.
func (r *fileRun) finishDirs() error {
	for i := len(r.dirs) - 1; i >= 0; i-- {
		e := r.dirs[i]
		if r.inPlace && r.dirsSame[i] && !r.touched[e.Path] {
			continue // the snapshot's directory is prev's, unchanged
		}
		dst, err := r.target(e.Path)
		if err != nil {
			return err
		}
		if err := r.applyMeta(dst, e); err != nil {
			return err
		}
	}
	return nil
}

// applyMeta applies e's metadata; a permission failure (not root) is a
// recorded skip of that detail, anything else is fatal.
func (r *fileRun) applyMeta(path string, e *manifest.Entry) error {
	return fileops.OnPath(path, func(p string) error { return r.applyMetaAt(p, e) })
}

// applyMetaAt is applyMeta for a path the kernel accepts (see fileops.OnPath).
func (r *fileRun) applyMetaAt(path string, e *manifest.Entry) error {
	err := fileops.ApplyMeta(path, e)
	if errors.Is(err, fileops.ErrNotPermitted) {
		r.errs.add(e.Path, err)
		return nil
	}
	return err
}

// target is where rel goes in the new tree. Every change to the tree
// asks for its path here first, so an in-place tree is snapshotted from
// its base on the first change (see ensureTree).
func (r *fileRun) target(rel string) (string, error) {
	if err := r.ensureTree(); err != nil {
		return "", err
	}
	if rel == "" {
		return r.dst, nil
	}
	return filepath.Join(r.dst, filepath.FromSlash(rel)), nil
}

func (r *fileRun) source(rel string) string { return filepath.Join(r.src, filepath.FromSlash(rel)) }

func (r *fileRun) info(entries int64, manifestSum string) *repo.Info {
	r.errs.mu.Lock()
	defer r.errs.mu.Unlock()
	return &repo.Info{
		Files: r.st.files.Load(), Dirs: r.st.dirs.Load(), Symlinks: r.st.symlinks.Load(),
		Specials: r.st.specials.Load(), Size: r.st.size.Load(), AddedBytes: r.st.added.Load(),
		Copied: r.st.copied.Load(), Linked: r.st.linked.Load(), Reflinked: r.st.reflinked.Load(), DamagedCopied: r.st.damagedCopied.Load(),
		Errors: r.errs.count, ErrorSamples: r.errs.samples,
		ManifestEntries: entries, ManifestBLAKE3: manifestSum,
	}
}

// prevCursor streams the previous manifest alongside the walk. With
// onGone set (in place), it calls it with every previous entry the walk
// passed without finding.
type prevCursor struct {
	r       *manifest.Reader
	cur     *manifest.Entry
	done    bool
	matched bool // cur was returned by find: it is not gone
	log     *slog.Logger
	onGone  func(*manifest.Entry)
	// damaged is the error that ended reading the manifest before its
	// end: in place, what was deleted since is then unknown.
	damaged error
}

func (r *fileRun) openPrev() *prevCursor {
	c := &prevCursor{done: true, log: r.o.Log}
	if r.prev == nil {
		return c
	}
	mr, err := manifest.Open(r.prev.ManifestPath())
	if err != nil {
		r.o.Log.Warn("previous manifest unreadable; copying everything", "err", err)
		return c
	}
	c.r, c.done = mr, false
	if r.inPlace {
		c.onGone = r.gone
	}
	return c
}

// find returns the previous record of path. Calls must come in increasing
// manifest.Compare order of path.
func (c *prevCursor) find(path string) *manifest.Entry {
	for !c.done {
		if c.cur == nil {
			e, err := c.r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					c.log.Warn("previous manifest damaged; copying the rest", "err", err)
					c.damaged = err
				}
				c.done = true
				return nil
			}
			c.cur = e
		}
		switch cmp := manifest.Compare(c.cur.Path, path); {
		case cmp < 0:
			if c.onGone != nil && !c.matched {
				c.onGone(c.cur)
			}
			c.cur, c.matched = nil, false
		case cmp == 0:
			c.matched = true
			return c.cur
		default:
			return nil
		}
	}
	return nil
}

// drain passes every previous entry not found yet to onGone; without
// onGone it does nothing.
func (c *prevCursor) drain() {
	if c.onGone == nil {
		return
	}
	for !c.done {
		if c.cur != nil && !c.matched {
			c.onGone(c.cur)
		}
		c.cur, c.matched = nil, false
		e, err := c.r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.damaged = err
			}
			c.done = true
			return
		}
		c.cur = e
	}
}

// close closes the manifest; c may be nil.
func (c *prevCursor) close() {
	if c != nil && c.r != nil {
		c.r.Close()
	}
}

// isRepoFailure reports errors that mean the repository itself cannot be
// written, which abort the run instead of skipping one entry.
func isRepoFailure(err error) bool {
	for _, e := range []error{errNoSpace, errQuota, errReadOnly} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// openOrigin opens the manifest of BackupOptions.Origin to stream it
// alongside the walk; nil without an origin. A failure to read it further
// on is no error here: the copy's manifest then differs from it, which
// Origin.adopt reports.
func (r *fileRun) openOrigin() (*prevCursor, error) {
	if r.o.Origin == nil {
		return nil, nil
	}
	mr, err := manifest.Open(r.o.Origin.Backup.ManifestPath())
	if err != nil {
		return nil, fmt.Errorf("the manifest of %s/%s: %w", r.o.Origin.Backup.Name, r.o.Origin.Backup.ID, err)
	}
	return &prevCursor{r: mr, log: orDiscard(nil)}, nil
}
