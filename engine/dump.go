package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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
	// tar stream of it); "" or "/" is the root. A block backup takes ""
	// or its image's path, "/NAME.img", as Ls lists it.
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
// ErrContentMismatch naming it; one missing from the tree is written as
// zeros in a tar stream (ErrMissingInTree then), while a single file
// missing is an error before anything is written. A path the backup does
// not hold wraps repo.ErrNotFound; one that is neither a file nor a
// directory, or ends in a slash and is not a directory, wraps
// ErrNotApplicable: nothing is written then.
func Dump(ctx context.Context, o DumpOptions, w io.Writer) error {
	p, err := backupPath(o.Path)
	if err != nil {
		return err
	}
	r, b, err := openBackup(o.Repo, o.Name, o.ID)
	if err != nil {
		return err
	}
	if b.Blocks() {
		if err := imagePath(b, p); err != nil {
			return err
		}
		if o.RefuseArchive {
			return refuseArchive("an image")
		}
		return dumpImage(ctx, r, b, w, o.Jobs)
	}
	mr, top, err := openAt(b, p)
	if err != nil {
		return err
	}
	defer mr.Close()
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
	return fmt.Errorf("/%s is a %s: dump %w (only to a file or a directory)", p.sub, top.Type, ErrNotApplicable)
}

func refuseArchive(what string) error {
	return fmt.Errorf("dump would write %s to a terminal: %w (redirect stdout to a file or a pipe)", what, ErrNotApplicable)
}

// ErrMissingInTree means a file the manifest lists could not be opened in
// the backup's tree (removed or made unreadable behind lvback's back).
var ErrMissingInTree = errors.New("missing from the backup tree")

// openTreeFile opens e's file in tree; an error wraps ErrMissingInTree,
// naming the file and the cause.
func openTreeFile(tree *fileops.Tree, e *manifest.Entry) (*os.File, error) {
	f, err := tree.Open(e.Path)
	if err != nil {
		return nil, fmt.Errorf("/%s: %w (%w)", e.Path, ErrMissingInTree, err)
	}
	return f, nil
}

// dumpFile writes the content of the file e names to w, checking it. A
// file it cannot open is an error before anything is written.
func dumpFile(ctx context.Context, tree *fileops.Tree, e *manifest.Entry, w io.Writer) error {
	f, err := openTreeFile(tree, e)
	if err != nil {
		return err
	}
	ok, err := copyChecked(ctx, f, e, w)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("/%s: %w (its bytes were written)", e.Path, ErrContentMismatch)
	}
	return nil
}

// copyChecked writes exactly e.Size bytes of f, e's file, to w (zeros
// where the file is short or unreadable, or for all of them when f is
// nil), closes f and reports whether they were the file's whole content
// and match e.Hash. Only a failure to write to w, or ctx's end, is an
// error.
func copyChecked(ctx context.Context, f *os.File, e *manifest.Entry, w io.Writer) (bool, error) {
	h := blake3.New()
	out := io.MultiWriter(w, h)
	var n int64
	whole := false
	if f != nil {
		var err error
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
