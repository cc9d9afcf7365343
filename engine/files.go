package engine

import (
	"context"
	"errors"
	"fmt"
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
func (r *run) visit(ctx context.Context, we *walker.Entry, prev *prevCursor, jobs chan<- []*fileJob, ordered chan<- *pending) error {
	e := toEntry(we)
	p := newPending(e)
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
		if j.leader == nil {
			j.prev = prev.find(e.Path)
			j.act = decide(e, j.prev, r.prevStart, r.o.Checksum)
		}
		return r.enqueue(ctx, jobs, j)
	}
	err := r.makeNonFile(e)
	p.finish(err)
	if err != nil && !isRepoFailure(err) && !errors.Is(err, context.Canceled) {
		r.errs.add(e.Path, err)
		return nil
	}
	return err
}

// enqueue adds a file job to the batch of its directory. A worker takes a
// whole batch, so concurrent workers mostly write to different directories
// instead of queueing on one directory's lock (see BenchmarkBackupNoChange).
func (r *run) enqueue(ctx context.Context, jobs chan<- []*fileJob, j *fileJob) error {
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
func (r *run) flush(ctx context.Context, jobs chan<- []*fileJob) error {
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
// special file in the new tree.
func (r *run) makeNonFile(e *manifest.Entry) error {
	dst := r.target(e.Path)
	switch e.Type {
	case manifest.TypeDir:
		r.st.dirs.Add(1)
		r.dirs = append(r.dirs, e)
		if e.Path == "" {
			return nil
		}
		return os.Mkdir(dst, 0o700)
	case manifest.TypeSymlink:
		r.st.symlinks.Add(1)
		if err := os.Symlink(e.Target, dst); err != nil {
			return err
		}
	default:
		r.st.specials.Add(1)
		if err := fileops.MakeNode(dst, e); err != nil {
			return err
		}
	}
	return r.applyMeta(dst, e)
}

// work runs file jobs until jobs closes. A skipped file is recorded and
// the worker goes on; a repository failure stops the run.
func (r *run) work(ctx context.Context, jobs <-chan []*fileJob) error {
	for batch := range jobs {
		if err := r.workBatch(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// workBatch does the jobs of one batch in order (a hard link's first path
// always comes before the others).
func (r *run) workBatch(ctx context.Context, batch []*fileJob) error {
	for i, j := range batch {
		err := ctx.Err() // a cancelled run stops between files, and within big ones
		if err == nil {
			err = r.doFile(ctx, j)
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

func (r *run) doFile(ctx context.Context, j *fileJob) error {
	e := j.p.e
	if j.leader != nil {
		return r.linkToLeader(ctx, j)
	}
	switch j.act {
	case actLink:
		return r.linkPrev(ctx, e, j.prev.Hash)
	case actHashThenLink, actHashThenClone:
		same, err := r.sameContent(ctx, e, j.prev.Hash)
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
func (r *run) linkToLeader(ctx context.Context, j *fileJob) error {
	select {
	case <-j.leader.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if j.leader.err != nil {
		return fmt.Errorf("hard link to %s, which was skipped", j.leader.e.Path)
	}
	e := j.p.e
	e.Hash = j.leader.e.Hash
	err := os.Link(r.target(j.leader.e.Path), r.target(e.Path))
	if errors.Is(err, errTooMany) {
		e.LinkTo = "" // the file system's link limit: a copy keeps the data
		return r.copySource(ctx, e)
	}
	return err
}

// linkPrev shares the previous backup's inode for an unchanged file. When
// the inode is at the link limit (EMLINK) or missing, it copies instead.
func (r *run) linkPrev(ctx context.Context, e *manifest.Entry, hash [32]byte) error {
	err := os.Link(r.prevPath(e.Path), r.target(e.Path))
	if errors.Is(err, errTooMany) || errors.Is(err, os.ErrNotExist) {
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
func (r *run) clonePrev(ctx context.Context, e *manifest.Entry, hash [32]byte) error {
	if r.noReflink.Load() {
		return r.copySource(ctx, e)
	}
	dst := r.target(e.Path)
	err := fileops.Reflink(dst, r.prevPath(e.Path))
	if errors.Is(err, fileops.ErrNoReflink) {
		r.noReflink.Store(true)
		return r.copySource(ctx, e)
	}
	if err != nil {
		return r.copySource(ctx, e)
	}
	e.Hash = hash
	r.st.reflinked.Add(1)
	return r.applyMeta(dst, e)
}

// sameContent hashes the source file and compares it with want.
func (r *run) sameContent(ctx context.Context, e *manifest.Entry, want [32]byte) (bool, error) {
	f, err := openSource(r.source(e.Path), e.Inode)
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
// same pass, and applies its metadata.
func (r *run) copySource(ctx context.Context, e *manifest.Entry) error {
	f, err := openSource(r.source(e.Path), e.Inode)
	if err != nil {
		return err
	}
	defer f.Close()
	h, n, err := fileops.CopyFileMeta(ctx, r.target(e.Path), f, e)
	if errors.Is(err, fileops.ErrNotPermitted) {
		r.errs.add(e.Path, err) // copied; an owner or attribute could not be set
		err = nil
	}
	if err != nil {
		return err
	}
	e.Hash = h
	r.st.copied.Add(1)
	r.st.added.Add(n)
	return nil
}

func (r *run) prevPath(rel string) string {
	return r.prev.TreePath() + "/" + rel
}
