package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
)

// rootDir is a restore target. Every operation resolves the entry's parent
// directory beneath the target with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) (fileops.OpenBeneath: paths of any length), so no
// symlink, planted or restored, is followed and nothing outside the target
// is reached; the final component is handled
// with *at calls or through /proc/self/fd, never following a symlink.
type rootDir struct {
	fd   int
	path string
}

func openRoot(target string) (*rootDir, error) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return nil, fmt.Errorf("restore needs /proc mounted: %w", err)
	}
	fd, err := unix.Open(target, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open restore target %s: %w", target, err)
	}
	return &rootDir{fd: fd, path: target}, nil
}

func (r *rootDir) close() { unix.Close(r.fd) }

// parent opens the directory holding rel; the caller closes dirfd.
func (r *rootDir) parent(rel string) (dirfd int, name string, err error) {
	dir := "."
	name = rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, name = rel[:i], rel[i+1:]
	}
	fd, err := fileops.OpenBeneath(r.fd, dir, unix.O_PATH)
	if err != nil {
		return -1, "", fmt.Errorf("open %s beneath the target without symlinks: %w", dir, err)
	}
	return fd, name, nil
}

func procPath(dirfd int, name string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name)
}

// clearWay removes whatever is at dirfd/name (for --force).
func clearWay(dirfd int, name string) error {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fileops.RemoveTree(procPath(dirfd, name), 1)
	}
	return unix.Unlinkat(dirfd, name, 0)
}

// mkdir creates directory rel; with force an existing directory is kept
// and anything else in the way is removed.
func (r *rootDir) mkdir(rel string, force bool) error {
	dfd, name, err := r.parent(rel)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	err = unix.Mkdirat(dfd, name, 0o700)
	if errors.Is(err, unix.EEXIST) && force {
		var st unix.Stat_t
		if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil
		}
		if err := clearWay(dfd, name); err != nil {
			return err
		}
		err = unix.Mkdirat(dfd, name, 0o700)
	}
	if err != nil {
		return fmt.Errorf("mkdir %s: %w", rel, err)
	}
	return nil
}

// makeOther creates a symlink, FIFO, socket or device node.
func (r *rootDir) makeOther(e *manifest.Entry, force bool) error {
	dfd, name, err := r.parent(e.Path)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	if force {
		if err := clearWay(dfd, name); err != nil {
			return err
		}
	}
	if e.Type == manifest.TypeSymlink {
		return unix.Symlinkat(e.Target, dfd, name)
	}
	return fileops.MakeNode(procPath(dfd, name), e)
}

// copyFile creates rel from src, returning the content hash and the bytes
// written.
func (r *rootDir) copyFile(ctx context.Context, rel string, src *os.File, size int64, force bool) ([32]byte, int64, error) {
	dfd, name, err := r.parent(rel)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer unix.Close(dfd)
	if force {
		if err := clearWay(dfd, name); err != nil {
			return [32]byte{}, 0, err
		}
	}
	return fileops.CopyFile(ctx, procPath(dfd, name), src, size)
}

// link makes to a hard link of from, both beneath the target.
func (r *rootDir) link(from, to string) error {
	ffd, fname, err := r.parent(from)
	if err != nil {
		return err
	}
	defer unix.Close(ffd)
	tfd, tname, err := r.parent(to)
	if err != nil {
		return err
	}
	defer unix.Close(tfd)
	if err := clearWay(tfd, tname); err != nil {
		return err
	}
	return unix.Linkat(ffd, fname, tfd, tname, 0)
}

// applyMeta sets e's metadata on rel ("" is the target itself).
func (r *rootDir) applyMeta(rel string, e *manifest.Entry) error {
	if rel == "" {
		return fileops.ApplyMeta(r.path, e)
	}
	dfd, name, err := r.parent(rel)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	return fileops.ApplyMeta(procPath(dfd, name), e)
}
