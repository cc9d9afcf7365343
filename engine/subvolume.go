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

// makeTree prepares the new backup's tree at p's tree path. In the
// subvolume layout with a base (prev's tree, a subvolume, with an intact
// manifest) it makes nothing and returns the base: the run works in
// place on a snapshot of it, made when it first changes something
// (fileRun.ensureTree), and a run that changes nothing makes one
// read-only snapshot at the end (fileRun.seal), a single transaction
// commit. Otherwise it creates the empty tree (a subvolume in the
// subvolume layout) and returns "". A prev whose tree is not a subvolume
// (a tree lvback did not make) is no base: the run copies everything.
func makeTree(r *repo.Repo, p *repo.Pending, prev *repo.Backup) (base string, err error) {
	dst := p.TreePath()
	if r.Layout != repo.LayoutSubvolume {
		if err := os.Mkdir(dst, 0o700); err != nil {
			return "", fmt.Errorf("begin backup: %w", err)
		}
		return "", nil
	}
	if prev != nil && manifestIntact(prev) {
		if ok, _ := btrfs.IsSubvolume(prev.TreePath()); ok {
			return prev.TreePath(), nil
		}
	}
	if err := btrfs.Create(dst); err != nil {
		return "", fmt.Errorf("begin backup: %w", err)
	}
	return "", os.Chmod(dst, 0o700)
}

// manifestIntact reports whether b's manifest is the one info.json
// records: an in-place run learns from it what to remove from the
// snapshot, so a damaged one is no base.
func manifestIntact(b *repo.Backup) bool {
	sum, err := hashFile(b.ManifestPath())
	return err == nil && sum == b.Info.ManifestBLAKE3
}

// snapshotSubvolume is btrfs.Snapshot; a test counts the snapshots a run
// makes.
var snapshotSubvolume = btrfs.Snapshot

// ensureTree makes an in-place run's tree, a writable snapshot of its
// base, the first time it is called; later calls return the first
// call's error. Without a base the tree exists already.
func (r *fileRun) ensureTree() error {
	if r.base == "" {
		return nil
	}
	r.baseOnce.Do(func() {
		if err := snapshotSubvolume(r.base, r.dst, false); err != nil {
			r.baseErr = fmt.Errorf("snapshot the previous backup's tree: %w", err)
			return
		}
		r.baseMade.Store(true)
	})
	return r.baseErr
}

// madeTree is the new tree's path once it exists, "" while an in-place
// run has not changed anything yet.
func (r *fileRun) madeTree() string {
	if r.base != "" && !r.baseMade.Load() {
		return ""
	}
	return r.dst
}

// seal is the last change to the tree before the backup is committed. In
// the subvolume layout it makes the tree read-only; an in-place run that
// changed nothing makes it here as a read-only snapshot of its base.
func (r *fileRun) seal(layout string) error {
	if r.madeTree() == "" {
		if err := snapshotSubvolume(r.base, r.dst, true); err != nil {
			return fmt.Errorf("snapshot the previous backup's tree: %w", err)
		}
		return nil
	}
	if layout != repo.LayoutSubvolume {
		return nil
	}
	if err := btrfs.SetReadOnly(r.dst, true); err != nil {
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
	dst, err := r.target(rel)
	if err != nil {
		return err
	}
	return fileops.OnPath(dst, func(p string) error {
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
		j.p.keptInode = true
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
		j.p.keptInode = true
		if j.act == actHashThenLink {
			r.st.linked.Add(1)
			return nil
		}
		dst, err := r.target(e.Path)
		if err != nil {
			return err
		}
		if err := r.applyMeta(dst, e); err != nil {
			return err
		}
		r.st.reflinked.Add(1)
		return nil
	}
	return r.copySource(ctx, e)
}

// sameNonFile reports whether a symlink or special file e is what prev
// recorded at its path: same type, target, device number and metadata.
// An in-place tree's copy is then left alone.
func sameNonFile(e, prev *manifest.Entry) bool {
	return e.Type == prev.Type && e.Target == prev.Target && e.Rdev == prev.Rdev && prev.LinkTo == "" &&
		sameDirMeta(e, prev)
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
