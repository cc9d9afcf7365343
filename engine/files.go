package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/walker"
)

// fileJob is the work for one regular file, done by a worker.
type fileJob struct {
	p      *pending
	act    action
	prev   *manifest.Entry // previous record of the path, if any
	leader *pending        // earlier path of the same inode in this run
}

// visit handles one walked entry on the walk goroutine: directories,
// symlinks and special files are made at once (children need their
// parents); regular files go to the workers. Every entry enters the
// ordered queue so the manifest is written in walk order.
func (r *fileRun) visit(ctx context.Context, we *walker.Entry, prev *prevCursor, jobs chan<- []*fileJob, ordered chan<- *pending) error {
	e := toEntry(we)
	p := newPending(e)
	if r.origin != nil {
		p.origin = r.origin.find(e.Path)
	}
	select {
	case ordered <- p:
	default: // the queue is full: its head may wait in our batch
		if err := r.flush(ctx, jobs); err != nil {
			return err
		}
		if err := send(ctx, ordered, p); err != nil {
			return err
		}
	}
	var pe *manifest.Entry // in place: the previous record of every entry, whatever its type
	if r.inPlace {
		pe = prev.find(e.Path)
	}
	if e.Type == manifest.TypeFile {
		j := &fileJob{p: p}
		if we.Stat.Nlink > 1 {
			key := devIno{we.Stat.Dev, we.Stat.Ino}
			if l, ok := r.groups[key]; ok {
				j.leader, e.LinkTo = l, l.e.Path
			} else {
				r.groups[key] = p
			}
		}
		j.prev = pe
		if j.leader == nil {
			if !r.inPlace {
				j.prev = prev.find(e.Path)
			}
			j.act = decide(p.recorded(), j.prev, r.prevStart, r.o.Checksum, r.prevDamaged(j.prev))
		}
		return r.enqueue(ctx, jobs, j)
	}
	err := r.makeNonFile(e, pe)
	p.finish(err)
	if err != nil && !isRepoFailure(err) && !errors.Is(err, context.Canceled) {
		r.errs.add(e.Path, err)
		r.dropSkipped(e.Path)
		return nil
	}
	return err
}

// enqueue adds a file job to the batch of its directory. A worker takes a
// whole batch, so concurrent workers mostly write to different directories
// instead of queueing on one directory's lock (see BenchmarkBackupNoChange).
func (r *fileRun) enqueue(ctx context.Context, jobs chan<- []*fileJob, j *fileJob) error {
	dir := parentOf(j.p.e.Path)
	if len(r.batch) > 0 && (dir != r.batchDir || len(r.batch) >= maxBatch) {
		if err := r.flush(ctx, jobs); err != nil {
			return err
		}
	}
	r.batch, r.batchDir = append(r.batch, j), dir
	return nil
}

// flush hands the current batch to the workers.
func (r *fileRun) flush(ctx context.Context, jobs chan<- []*fileJob) error {
	if len(r.batch) == 0 {
		return nil
	}
	b := r.batch
	r.batch = nil
	return send(ctx, jobs, b)
}

func send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// makeNonFile creates a directory (metadata comes later), symlink or
// special file in the new tree. In place, prev (the previous record of
// the path) says what the tree holds there already: a directory stays,
// anything else is replaced.
func (r *fileRun) makeNonFile(e, prev *manifest.Entry) error {
	keepDir := r.inPlace && e.Type == manifest.TypeDir && prev != nil && prev.Type == manifest.TypeDir
	switch e.Type {
	case manifest.TypeDir:
		r.st.dirs.Add(1)
		r.dirs = append(r.dirs, e)
		r.dirsSame = append(r.dirsSame, keepDir && sameDirMeta(e, prev))
	case manifest.TypeSymlink:
		r.st.symlinks.Add(1)
	default:
		r.st.specials.Add(1)
	}
	if e.Path == "" || keepDir {
		return nil
	}
	if r.inPlace && e.Type != manifest.TypeDir && prev != nil && sameNonFile(e, prev) {
		return nil // the snapshot holds it as it is
	}
	if r.inPlace {
		r.markTouched(e.Path)
		if err := r.clearPath(e.Path); err != nil {
			return err
		}
	}
	dst, err := r.target(e.Path)
	if err != nil {
		return err
	}
	return fileops.OnPath(dst, func(dst string) error {
		var err error
		switch e.Type {
		case manifest.TypeDir:
			return os.Mkdir(dst, 0o700)
		case manifest.TypeSymlink:
			err = os.Symlink(e.Target, dst)
		default:
			err = fileops.MakeNode(dst, e)
		}
		if err != nil {
			return err
		}
		return r.applyMetaAt(dst, e)
	})
}

// work runs file jobs until jobs closes. A skipped file is recorded and
// the worker goes on; a repository failure stops the run.
func (r *fileRun) work(ctx context.Context, jobs <-chan []*fileJob) error {
	for batch := range jobs {
		if err := r.workBatch(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// workBatch does the jobs of one batch in order (a hard link's first path
// always comes before the others).
func (r *fileRun) workBatch(ctx context.Context, batch []*fileJob) error {
	for i, j := range batch {
		err := ctx.Err() // a cancelled run stops between files, and within big ones
		if err == nil {
			err = r.doFile(ctx, j)
		}
		if err != nil && !isRepoFailure(err) && ctx.Err() == nil {
			r.dropSkipped(j.p.e.Path) // before finish: a hard link to it must not find the old file
		}
		j.p.finish(err)
		r.o.Progress.add(j.p.e.Size)
		if err == nil {
			r.st.files.Add(1)
			r.st.size.Add(j.p.e.Size)
			continue
		}
		if isRepoFailure(err) || ctx.Err() != nil {
			for _, rest := range batch[i+1:] {
				rest.p.finish(err) // nobody may wait forever on them
			}
			return err
		}
		r.errs.add(j.p.e.Path, err)
	}
	return nil
}

func (r *fileRun) doFile(ctx context.Context, j *fileJob) error {
	e := j.p.e
	if j.leader != nil {
		return r.linkToLeader(ctx, j)
	}
	if r.inPlace {
		return r.doFileInPlace(ctx, j)
	}
	switch j.act {
	case actCopyDamaged:
		return r.copyInsteadOfDamaged(ctx, e)
	case actLink:
		return r.linkPrev(ctx, e, j.prev.Hash)
	case actHashThenLink, actHashThenClone:
		same, err := r.sameContent(ctx, e, j.prev.Hash)
		if errors.Is(err, fileops.ErrSizeChanged) {
			return r.copySource(ctx, e) // changed meanwhile: the copy reads it again
		}
		if err != nil {
			return err
		}
		if !same {
			return r.copySource(ctx, e)
		}
		if j.act == actHashThenLink {
			return r.linkPrev(ctx, e, j.prev.Hash)
		}
		return r.clonePrev(ctx, e, j.prev.Hash)
	}
	return r.copySource(ctx, e)
}

// linkToLeader hard-links a second path of a source inode to the first
// one's file in the new tree, as the source has them.
func (r *fileRun) linkToLeader(ctx context.Context, j *fileJob) error {
	select {
	case <-j.leader.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if j.leader.err != nil {
		return fmt.Errorf("hard link to %s, which was skipped", j.leader.e.Path)
	}
	e := j.p.e
	// One inode: the leader's record is the latest (it may have been re-read).
	e.Hash, e.Size, e.Mtime = j.leader.e.Hash, j.leader.e.Size, j.leader.e.Mtime
	if r.inPlace && j.leader.keptInode && j.prev != nil && j.prev.Type == manifest.TypeFile && j.prev.LinkTo == j.leader.e.Path {
		return nil // the snapshot links it to the leader's inode, which stayed
	}
	if r.inPlace {
		r.markTouched(e.Path)
		if err := r.clearPath(e.Path); err != nil {
			return err
		}
	}
	from, err := r.target(j.leader.e.Path)
	if err != nil {
		return err
	}
	dst, err := r.target(e.Path)
	if err != nil {
		return err
	}
	err = link(from, dst)
	if errors.Is(err, errTooMany) {
		e.LinkTo = "" // the file system's link limit: a copy keeps the data
		return r.copySource(ctx, e)
	}
	return err
}

// linkPrev shares the previous backup's inode for an unchanged file. When
// the inode is at the link limit (EMLINK) or missing, it copies instead.
func (r *fileRun) linkPrev(ctx context.Context, e *manifest.Entry, hash [32]byte) error {
	dst, err := r.target(e.Path)
	if err != nil {
		return err
	}
	err = errNoPrevTree
	if r.prevTree != nil {
		err = r.prevTree.LinkFile(e.Path, dst)
	}
	if r.copyInstead(e, err) {
		return r.copySource(ctx, e)
	}
	if err != nil {
		return err
	}
	e.Hash = hash
	r.st.linked.Add(1)
	return nil
}

// clonePrev gives an unchanged-content file with new metadata its own
// inode: a reflink of the previous file where the file system can, else a
// copy. The previous backup's inode is never modified.
func (r *fileRun) clonePrev(ctx context.Context, e *manifest.Entry, hash [32]byte) error {
	if r.noReflink.Load() {
		return r.copySource(ctx, e)
	}
	dst, err := r.target(e.Path)
	if err != nil {
		return err
	}
	in, err := r.openPrevFile(e)
	if err == nil {
		err = fileops.OnPath(dst, func(dst string) error { return fileops.ReflinkFrom(dst, in) })
		in.Close()
	}
	if errors.Is(err, fileops.ErrNoReflink) {
		r.noReflink.Store(true)
		return r.copySource(ctx, e)
	}
	if err != nil {
		r.copyInstead(e, err) // says why when it is the previous tree's fault
		return r.copySource(ctx, e)
	}
	e.Hash = hash
	r.st.reflinked.Add(1)
	return r.applyMeta(dst, e)
}

// sameContent hashes the source file and compares it with want.
func (r *fileRun) sameContent(ctx context.Context, e *manifest.Entry, want [32]byte) (bool, error) {
	f, err := r.openSource(e)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h, err := fileops.HashFile(ctx, f, e.Size)
	if err != nil {
		return false, fmt.Errorf("read: %w", err)
	}
	return h == want, nil
}

// copySource copies the source file into the new tree, hashing it in the
// same pass, and applies its metadata. A file that changed while it was
// read (its size, mtime or ctime differ afterwards, or its length did not
// match) may hold a torn mix of old and new data: it is read once more,
// recording the size, mtime, mode, owner and xattrs it had when that second
// read began (the walk's ctime stays, so the next backup looks at the file
// again). A file that changes during the second read too is skipped with
// errChanged.
func (r *fileRun) copySource(ctx context.Context, e *manifest.Entry) error {
	err := r.copyOnce(ctx, e, false)
	if errors.Is(err, errChanged) || errors.Is(err, fileops.ErrSizeChanged) {
		r.o.Log.Info("file changed while it was read; reading it again", "path", e.Path)
		err = r.copyOnce(ctx, e, true)
	}
	return err
}

// cloneFromSource makes dst share the extents of the open source file f
// (FICLONE: the repository on the source's btrfs), hashing f by reading
// it, and applies e's metadata. It returns errNotInPlace, dst untouched,
// when the two cannot share extents (remembered: no file is tried again).
func (r *fileRun) cloneFromSource(ctx context.Context, f *os.File, e *manifest.Entry, dst string) ([32]byte, error) {
	h, err := fileops.HashFile(ctx, f, e.Size)
	if err != nil {
		return h, err
	}
	if r.inPlace {
		r.markTouched(e.Path)
		if err := r.clearPath(e.Path); err != nil {
			return h, err
		}
	}
	err = fileops.OnPath(dst, func(dst string) error { return fileops.ReflinkFrom(dst, f) })
	if errors.Is(err, fileops.ErrNoReflink) {
		r.noSourceClone.Store(true)
		return h, errNotInPlace
	}
	if err != nil {
		return h, err
	}
	return h, fileops.OnPath(dst, func(p string) error { return fileops.ApplyMeta(p, e) })
}

// errNotInPlace says a file is to be created, not written over.
var errNotInPlace = errors.New("create the file")

// errChanged reports a source file that changed while it was read.
var errChanged = errors.New("changed while it was read")

// copyOnce is one attempt of copySource. With again set, e's metadata is
// first refreshed from the open file (restat).
func (r *fileRun) copyOnce(ctx context.Context, e *manifest.Entry, again bool) error {
	f, err := r.openSource(e)
	if err != nil {
		return err
	}
	defer f.Close()
	was := contentStamp{size: e.Size, mtime: e.Mtime, ctime: e.Ctime}
	if again {
		if was, err = r.restat(f, e); err != nil {
			return err
		}
	}
	dst, err := r.target(e.Path)
	if err != nil {
		return err
	}
	var h [32]byte
	var n int64
	err = errNotInPlace
	if r.cloneSource && !r.noSourceClone.Load() {
		h, err = r.cloneFromSource(ctx, f, e, dst)
	}
	if r.inPlace && errors.Is(err, errNotInPlace) {
		// Write into the snapshot's own copy when it is a file of one
		// link: its directory's entries and times stay as they are.
		err = fileops.OnPath(dst, func(dst string) (err error) {
			h, n, err = fileops.OverwriteFileMeta(ctx, dst, f, e)
			return err
		})
		if errors.Is(err, fileops.ErrNotOverwritable) || errors.Is(err, fs.ErrNotExist) {
			err = errNotInPlace
		}
	}
	if errors.Is(err, errNotInPlace) {
		if r.inPlace {
			r.markTouched(e.Path)
			if err := r.clearPath(e.Path); err != nil {
				return err
			}
		}
		err = fileops.OnPath(dst, func(dst string) (err error) {
			h, n, err = fileops.CopyFileMeta(ctx, dst, f, e)
			return err
		})
	}
	denied := err
	if errors.Is(err, fileops.ErrNotPermitted) {
		err = nil // copied; an owner or attribute could not be set
	}
	if err != nil {
		return err
	}
	now, err := stampOf(f)
	if err == nil && now != was {
		err = fmt.Errorf("%s: %w (size %d, mtime %v when it was opened; %d, %v now)",
			r.source(e.Path), errChanged, was.size, was.mtime, now.size, now.mtime)
	}
	if err != nil {
		_ = fileops.OnPath(dst, os.Remove)
		return err
	}
	if denied != nil {
		r.errs.add(e.Path, denied)
	}
	e.Hash = h
	r.st.copied.Add(1)
	r.st.added.Add(n)
	return nil
}

// restat refreshes e from the open file before it is read again, and
// returns its content stamp.
func (r *fileRun) restat(f *os.File, e *manifest.Entry) (contentStamp, error) {
	st, err := statOf(f)
	if err != nil {
		return contentStamp{}, err
	}
	var xs []manifest.Xattr
	err = fileops.OnPath(r.source(e.Path), func(p string) (err error) {
		xs, err = fileops.ListXattrs(p)
		return err
	})
	if err != nil {
		return contentStamp{}, fmt.Errorf("read xattrs: %w", err)
	}
	e.Size, e.Mtime, e.Mode, e.UID, e.GID, e.Xattrs = st.Size, fileops.FromTimespec(st.Mtim), st.Mode&0o7777, st.Uid, st.Gid, xs
	return stampFrom(st), nil
}

// openSource opens e's source file for reading (see openSource), first
// running the test hook BackupOptions.beforeOpen.
func (r *fileRun) openSource(e *manifest.Entry) (*os.File, error) {
	if r.o.beforeOpen != nil {
		r.o.beforeOpen(e.Path)
	}
	return openSource(r.source(e.Path), e.Inode)
}

// link makes newpath a hard link to oldpath, whatever their lengths.
func link(oldpath, newpath string) error {
	return fileops.OnPath(oldpath, func(o string) error {
		return fileops.OnPath(newpath, func(n string) error { return os.Link(o, n) })
	})
}
