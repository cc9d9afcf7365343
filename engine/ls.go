package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// LsOptions says which backup, and which part of it, Ls lists.
type LsOptions struct {
	Repo string
	Name string
	ID   string // "latest" or "" means the newest complete backup
	// Path is a directory (its direct children are listed) or any other
	// entry (listed itself); "" or "/" is the root.
	Path string
	// Recursive lists everything below a directory Path, not only its
	// children.
	Recursive bool
}

// Ls calls fn with the entries of a backup, in manifest order (a
// directory before what it holds), reading its manifest only: memory does
// not grow with the backup. A block backup has one entry, its image
// ("/NAME.img", type "image"), and takes no Path but "/" or that one. A
// Path the backup does not hold wraps repo.ErrNotFound; one ending in a
// slash that is not a directory's ErrNotApplicable.
func Ls(ctx context.Context, o LsOptions, fn func(BrowseEntry) error) error {
	p, err := backupPath(o.Path)
	if err != nil {
		return err
	}
	_, b, err := openBackup(o.Repo, o.Name, o.ID)
	if err != nil {
		return err
	}
	if b.Blocks() {
		if err := imagePath(b, p); err != nil {
			return err
		}
		return lsImage(b, fn)
	}
	mr, top, err := openAt(b, p)
	if err != nil {
		return err
	}
	defer mr.Close()
	if top.Type != manifest.TypeDir {
		return fn(browseEntry(top))
	}
	return lsBelow(ctx, mr, p.sub, o.Recursive, fn)
}

// lsBelow calls fn with the entries mr holds below the directory sub:
// all of them, or only its children. mr has just returned sub's entry.
func lsBelow(ctx context.Context, mr *manifest.Reader, sub string, recursive bool, fn func(BrowseEntry) error) error {
	for {
		e, err := mr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read manifest: %w", err)
		}
		if !below(e.Path, sub) {
			return nil // Compare order: everything below sub came already
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !recursive && parentOf(e.Path) != sub {
			continue
		}
		if err := fn(browseEntry(e)); err != nil {
			return err
		}
	}
}

// lsImage reports a block backup's image.
func lsImage(b *repo.Backup, fn func(BrowseEntry) error) error {
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil {
		return err
	}
	return fn(BrowseEntry{Path: "/" + b.Name + ".img", Type: "image", Mode: 0o600, Size: idx.Size,
		Mtime: b.Info.Started.UTC(), ImageHash: idx.Hash.String()})
}
