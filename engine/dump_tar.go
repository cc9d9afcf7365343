package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
)

// writeTar writes the directory top and everything below it that mr
// holds as a PAX tar stream: names relative to the backup's root ("./"
// for the root itself, directories with a trailing slash), numeric owners
// (no user or group names: the backup does not record the source's),
// modes, mtimes to the nanosecond, xattrs and POSIX ACLs as
// SCHILY.xattr.NAME records, symlinks, fifos and devices; a hard link
// whose first path is in the stream is a hard-link entry. Sockets have no
// tar form and are left out. Every file's content is checked as it is
// written (copyChecked); the first mismatch is reported once the stream
// is complete, as is the first file missing from the tree (written as
// zeros). mr has just returned top.
func writeTar(ctx context.Context, tree *fileops.Tree, mr *manifest.Reader, top *manifest.Entry, w io.Writer) error {
	tw := tar.NewWriter(w)
	var probs tarProblems
	for e := top; e != nil; {
		if err := ctx.Err(); err != nil {
			return err
		}
		prob, err := tarEntry(ctx, tw, tree, e, top.Path)
		if err != nil {
			return err
		}
		probs.add(prob, e.Path)
		if e, err = nextBelow(mr, top.Path); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return probs.err()
}

// tarProblems counts the files of a tar stream that did not match their
// hash or were missing from the tree, and remembers the first of each.
type tarProblems struct {
	mismatched, missing           int
	firstMismatched, firstMissing string
}

// add counts prob (nil, ErrContentMismatch or ErrMissingInTree) of path p.
func (t *tarProblems) add(prob error, p string) {
	switch {
	case errors.Is(prob, ErrMissingInTree):
		if t.missing++; t.missing == 1 {
			t.firstMissing = "/" + p
		}
	case prob != nil:
		if t.mismatched++; t.mismatched == 1 {
			t.firstMismatched = "/" + p
		}
	}
}

// err is the error the problems make, or nil.
func (t *tarProblems) err() error {
	const written = "the tar stream was written in full"
	switch {
	case t.missing > 0 && t.mismatched > 0:
		return fmt.Errorf("%d files %w (first: %s; zeros in their place), %d %w (first: %s); %s",
			t.missing, ErrMissingInTree, t.firstMissing, t.mismatched, ErrContentMismatch, t.firstMismatched, written)
	case t.missing > 0:
		return fmt.Errorf("%d files %w (first: %s; zeros in their place); %s", t.missing, ErrMissingInTree, t.firstMissing, written)
	case t.mismatched > 0:
		return fmt.Errorf("%w: %d files (first: %s); %s", ErrContentMismatch, t.mismatched, t.firstMismatched, written)
	}
	return nil
}

// nextBelow returns mr's next entry if it is below sub, else nil.
func nextBelow(mr *manifest.Reader, sub string) (*manifest.Entry, error) {
	e, err := mr.Next()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if !below(e.Path, sub) {
		return nil, nil
	}
	return e, nil
}

// tarEntry writes e (a file: with its content) and returns what was
// wrong with the content: nil, or an error wrapping ErrMissingInTree or
// ErrContentMismatch; top is the path of the dumped directory. The second
// result is an error that ends the stream.
func tarEntry(ctx context.Context, tw *tar.Writer, tree *fileops.Tree, e *manifest.Entry, top string) (problem, err error) {
	if e.Type == manifest.TypeSocket {
		return nil, nil
	}
	hdr := tarHeader(e)
	if e.Type == manifest.TypeFile && e.LinkTo != "" && below(e.LinkTo, top) {
		hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, tarName(e.LinkTo, false), 0
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("tar /%s: %w", e.Path, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, nil
	}
	f, missing := openTreeFile(tree, e) // f is nil then: zeros keep the stream well formed
	ok, err := copyChecked(ctx, f, e, tw)
	switch {
	case err != nil:
		return nil, err
	case missing != nil:
		return missing, nil
	case !ok:
		return ErrContentMismatch, nil
	}
	return nil, nil
}

// tarHeader is e's tar header, without hard links.
func tarHeader(e *manifest.Entry) *tar.Header {
	h := &tar.Header{Name: tarName(e.Path, e.Type == manifest.TypeDir), Mode: int64(e.Mode),
		Uid: int(e.UID), Gid: int(e.GID), ModTime: time.Unix(e.Mtime.Sec, int64(e.Mtime.Nsec)), Format: tar.FormatPAX}
	switch e.Type {
	case manifest.TypeDir:
		h.Typeflag = tar.TypeDir
	case manifest.TypeFile:
		h.Typeflag, h.Size = tar.TypeReg, e.Size
	case manifest.TypeSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.Target
	case manifest.TypeFIFO:
		h.Typeflag = tar.TypeFifo
	case manifest.TypeChar, manifest.TypeBlock:
		h.Typeflag = tar.TypeChar
		if e.Type == manifest.TypeBlock {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = devNumbers(e.Rdev)
	}
	if len(e.Xattrs) > 0 {
		h.PAXRecords = make(map[string]string, len(e.Xattrs))
		for _, x := range e.Xattrs {
			h.PAXRecords["SCHILY.xattr."+x.Name] = string(x.Value)
		}
	}
	return h
}

// tarName is a manifest path's name in the stream.
func tarName(p string, dir bool) string {
	switch {
	case p == "":
		return "./"
	case dir:
		return p + "/"
	}
	return p
}
