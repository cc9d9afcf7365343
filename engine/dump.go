package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zeebo/blake3"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// DumpOptions says what Dump writes.
type DumpOptions struct {
	Repo string
	Name string
	ID   string // "latest" or "" means the newest complete backup
	// Path is a regular file (its content is written) or a directory (a
	// tar stream of it); "" or "/" is the root. A block backup takes "".
	Path string
	Jobs int // block backups: concurrent chunk fetchers; 0 is the default
	// RefuseArchive refuses, before anything is written, a dump that
	// would be a tar stream or an image (wrapping ErrNotApplicable): the
	// caller's output is a terminal. A single file is written anyway.
	RefuseArchive bool
}

// ErrContentMismatch means content in a backup's tree did not match its
// manifest hash (or could not be read) while Dump wrote it: the bytes have
// been written already.
var ErrContentMismatch = errors.New("content does not match its manifest hash")

// Dump writes to w one file's content, a directory as a tar stream (see
// writeTar), or, for a block backup, its image (blockdiff.WriteImage),
// reading the backup's manifest and tree (or index and chunks) only.
// Every file's bytes are hashed as they are written; a file whose bytes
// do not match its manifest hash is written anyway (the tar stream goes
// on and stays well formed), and Dump then returns an error wrapping
// ErrContentMismatch naming it. A path the backup does not hold wraps
// repo.ErrNotFound; one that is neither a file nor a directory, or a path
// in a block backup, wraps ErrNotApplicable: nothing is written then.
func Dump(ctx context.Context, o DumpOptions, w io.Writer) error {
	sub, err := backupPath(o.Path)
	if err != nil {
		return err
	}
	r, b, err := openBackup(o.Repo, o.Name, o.ID)
	if err != nil {
		return err
	}
	if b.Blocks() {
		if sub != "" {
			return fmt.Errorf("path /%s %w: a block-mode backup is one image (dump it with no path)", sub, ErrNotApplicable)
		}
		if o.RefuseArchive {
			return refuseArchive("an image")
		}
		return dumpImage(ctx, r, b, w, o.Jobs)
	}
	mr, err := manifest.Open(b.ManifestPath())
	if err != nil {
		return err
	}
	defer mr.Close()
	top, err := scanFrom(mr, sub, b.Name+"/"+b.ID)
	if err != nil {
		return err
	}
	tree, err := fileops.OpenTree(b.TreePath())
	if err != nil {
		return err
	}
	defer tree.Close()
	switch top.Type {
	case manifest.TypeFile:
		return dumpFile(ctx, tree, top, w)
	case manifest.TypeDir:
		if o.RefuseArchive {
			return refuseArchive("a tar stream")
		}
		return writeTar(ctx, tree, mr, top, w)
	}
	return fmt.Errorf("/%s is a %s: dump %w (only to a file or a directory)", sub, top.Type, ErrNotApplicable)
}

func refuseArchive(what string) error {
	return fmt.Errorf("dump would write %s to a terminal: %w (redirect stdout to a file or a pipe)", what, ErrNotApplicable)
}

// dumpFile writes the content of the file e names to w, checking it.
func dumpFile(ctx context.Context, tree *fileops.Tree, e *manifest.Entry, w io.Writer) error {
	ok, err := copyChecked(ctx, tree, e, w)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("/%s: %w (its bytes were written)", e.Path, ErrContentMismatch)
	}
	return nil
}

// copyChecked writes exactly e.Size bytes of e's file in tree to w (zeros
// where the file is short or unreadable) and reports whether they were
// the file's whole content and match e.Hash. Only a failure to write to
// w, or ctx's end, is an error.
func copyChecked(ctx context.Context, tree *fileops.Tree, e *manifest.Entry, w io.Writer) (bool, error) {
	h := blake3.New()
	out := io.MultiWriter(w, h)
	var n int64
	whole := false
	if f, err := tree.Open(e.Path); err == nil {
		n, err = io.CopyN(out, ctxReader{ctx, f}, e.Size)
		whole = err == nil && atEOF(f)
		f.Close()
		if werr := ctx.Err(); werr != nil {
			return false, werr
		}
		if err != nil && !errors.Is(err, io.EOF) && !isReadErr(err) {
			return false, err
		}
	}
	if _, err := io.CopyN(out, zeroReader{}, e.Size-n); err != nil {
		return false, err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return whole && n == e.Size && sum == e.Hash, nil
}

// readErr marks an error of the file being read (as opposed to w).
type readErr struct{ error }

func (e readErr) Unwrap() error { return e.error }

func isReadErr(err error) bool {
	var re readErr
	return errors.As(err, &re)
}

// ctxReader reads r until ctx ends; its read errors are readErrs.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = readErr{err}
	}
	return n, err
}

// atEOF reports whether r has nothing more to read.
func atEOF(r io.Reader) bool {
	var b [1]byte
	n, _ := r.Read(b[:])
	return n == 0
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// dumpImage writes a block backup's image to w.
func dumpImage(ctx context.Context, r *repo.Repo, b *repo.Backup, w io.Writer, jobs int) error {
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil {
		return err
	}
	store, err := r.Chunks()
	if err != nil {
		return err
	}
	return blockdiff.WriteImage(ctx, idx, store, w, blockdiff.RestoreOptions{Workers: jobs})
}
