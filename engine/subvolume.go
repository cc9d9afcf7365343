package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/internal/btrfs"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// The subvolume layout (repo.LayoutSubvolume, btrfs only): a backup's
// tree is a btrfs subvolume made by snapshotting the previous backup's
// tree, which costs the same whatever its size; the run then changes
// only what the walk found changed, in place (fileRun.inPlace), and the
// tree is made read-only before the backup is committed. Pruning deletes
// the subvolume, one ioctl instead of an unlink per file.

// makeTree creates the new backup's empty tree at p's tree path, or in
// the subvolume layout a writable snapshot of prev's tree; it reports
// whether the tree starts as that snapshot (the run then works in place).
// A prev whose tree is not a subvolume (a tree lvback did not make) is
// no base: the run starts from an empty subvolume and copies everything.
func makeTree(r *repo.Repo, p *repo.Pending, prev *repo.Backup) (inPlace bool, err error) {
	dst := p.TreePath()
	if r.Layout != repo.LayoutSubvolume {
		if err := os.Mkdir(dst, 0o700); err != nil {
			return false, fmt.Errorf("begin backup: %w", err)
		}
		return false, nil
	}
	if prev != nil && manifestIntact(prev) {
		if ok, _ := btrfs.IsSubvolume(prev.TreePath()); ok {
			if err := btrfs.Snapshot(prev.TreePath(), dst, false); err != nil {
				return false, fmt.Errorf("begin backup: %w", err)
			}
			return true, nil
		}
	}
	if err := btrfs.Create(dst); err != nil {
		return false, fmt.Errorf("begin backup: %w", err)
	}
	return false, os.Chmod(dst, 0o700)
}

// manifestIntact reports whether b's manifest is the one info.json
// records: an in-place run learns from it what to remove from the
// snapshot, so a damaged one is no base.
func manifestIntact(b *repo.Backup) bool {
	sum, err := hashFile(b.ManifestPath())
	return err == nil && sum == b.Info.ManifestBLAKE3
}

// sealTree makes a subvolume tree read-only, the last change before the
// backup is committed: from then on nothing changes it by mistake.
func sealTree(r *repo.Repo, tree string) error {
	if r.Layout != repo.LayoutSubvolume {
		return nil
	}
	if err := btrfs.SetReadOnly(tree, true); err != nil {
		return fmt.Errorf("make the tree read-only: %w", err)
	}
	return nil
}

// removeBackupDir deletes a backup's directory (complete, ID.partial or
// ID.deleting): its tree first when it is a btrfs subvolume (one ioctl,
// read-only or not), then the rest.
func removeBackupDir(dir string, jobs int) error {
	tree := filepath.Join(dir, repo.TreeDir)
	if ok, _ := btrfs.IsSubvolume(tree); ok {
		if err := btrfs.Delete(tree); err != nil {
			return err
		}
	}
	return fileops.RemoveTree(dir, jobs)
}

// clearPath removes whatever is at rel in an in-place tree (a file, a
// symlink, a whole directory), so that something else can be made
// there; nothing there is no error.
func (r *fileRun) clearPath(rel string) error {
	if rel == "" {
		return nil
	}
	return fileops.OnPath(r.target(rel), func(p string) error {
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			return nil
		case err != nil:
			return err
		case fi.IsDir():
			return fileops.RemoveTree(p, 1)
		}
		err = os.Remove(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
}

// markTouched records that the directory holding rel changed in an
// in-place tree: its metadata (mtime) must be set again.
func (r *fileRun) markTouched(rel string) {
	if !r.inPlace {
		return
	}
	r.clearMu.Lock()
	r.touched[parentOf(rel)] = true
	r.clearMu.Unlock()
}

// gone removes from an in-place tree an entry of the previous backup the
// walk did not find again (deleted from the source, excluded now, or
// unreadable).
func (r *fileRun) gone(e *manifest.Entry) {
	if e.Path == "\x00damaged" {
		r.goneErr("entries of the previous backup", errors.New("its manifest is damaged past the point read, so what was deleted since is unknown"))
		return
	}
	r.markTouched(e.Path)
	if err := r.clearPath(e.Path); err != nil {
		r.goneErr(e.Path, err)
	}
}

// goneErr records the first failure to remove an entry from an in-place
// tree: the tree would hold what the manifest does not, so the run fails.
func (r *fileRun) goneErr(path string, err error) {
	r.clearMu.Lock()
	defer r.clearMu.Unlock()
	if r.clearFailed == nil {
		r.clearFailed = fmt.Errorf("remove %s from the new tree: %w", path, err)
	}
}

// dropSkipped removes from an in-place tree the previous copy of an
// entry this run skipped, which the new manifest does not list.
func (r *fileRun) dropSkipped(path string) {
	if !r.inPlace {
		return
	}
	r.markTouched(path)
	if err := r.clearPath(path); err != nil {
		r.goneErr(path, err)
	}
}

// doFileInPlace is doFile for an in-place tree, which holds prev's copy
// of the file already (as a snapshot: its own inode, data shared): an
// unchanged file is left alone, one whose content is unchanged but not
// its metadata gets the new metadata on that inode, anything else is
// copied over it.
func (r *fileRun) doFileInPlace(ctx context.Context, j *fileJob) error {
	e := j.p.e
	switch j.act {
	case actLink:
		e.Hash = j.prev.Hash
		r.st.linked.Add(1)
		return nil
	case actHashThenLink, actHashThenClone:
		same, err := r.sameContent(ctx, e, j.prev.Hash)
		if errors.Is(err, fileops.ErrSizeChanged) || err == nil && !same {
			return r.copySource(ctx, e) // changed, maybe meanwhile: the copy reads it again
		}
		if err != nil {
			return err
		}
		e.Hash = j.prev.Hash
		if j.act == actHashThenLink {
			r.st.linked.Add(1)
			return nil
		}
		if err := r.applyMeta(r.target(e.Path), e); err != nil {
			return err
		}
		r.st.reflinked.Add(1)
		return nil
	}
	return r.copySource(ctx, e)
}

// sameDirMeta reports whether directory e has the metadata of prev, so
// that an in-place tree's copy, if none of its entries changed, is left
// alone.
func sameDirMeta(e, prev *manifest.Entry) bool {
	return e.Mode == prev.Mode && e.UID == prev.UID && e.GID == prev.GID && e.Mtime == prev.Mtime &&
		manifest.EqualXattrs(e.Xattrs, prev.Xattrs)
}

// unsealTrees makes the read-only subvolume trees holding names writable
// for a repair, and returns what makes them read-only again (call it
// also after an error: it re-seals what was unsealed). Trees of the
// hard-link layout are left as they are.
func unsealTrees(r *repo.Repo, names []treeName) (reseal func(), err error) {
	var unsealed []string
	reseal = func() {
		for _, t := range unsealed {
			_ = btrfs.SetReadOnly(t, true)
		}
	}
	if r.Layout != repo.LayoutSubvolume {
		return reseal, nil
	}
	seen := map[string]bool{}
	for _, n := range names {
		t := n.b.TreePath()
		if seen[t] {
			continue
		}
		seen[t] = true
		if ro, err := btrfs.ReadOnly(t); err != nil || !ro {
			continue
		}
		if err := btrfs.SetReadOnly(t, false); err != nil {
			return reseal, fmt.Errorf("make %s writable for the repair: %w", t, err)
		}
		unsealed = append(unsealed, t)
	}
	return reseal, nil
}

// unsealedTree says what is wrong when b's tree is a btrfs subvolume
// that is not read-only: a complete backup's never is, unless someone
// made it writable (btrfs property set … ro false) and may have changed
// it. "" for a sealed subvolume and for a plain directory tree.
func unsealedTree(b *repo.Backup) string {
	t := b.TreePath()
	if ok, _ := btrfs.IsSubvolume(t); !ok {
		return ""
	}
	if ro, err := btrfs.ReadOnly(t); err != nil || !ro {
		return "the tree's subvolume is writable: made so after the backup, and maybe changed (btrfs property set " + t + " ro true seals it again)"
	}
	return ""
}
