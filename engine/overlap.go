package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/mountinfo"
	"github.com/lvback/lvback/walker"
)

// ErrOverlap means the repository is inside the source or the source
// inside the repository: the backup would copy itself. It is the caller's
// input that is wrong; the backup refuses before anything is written or,
// when a path the up-front check cannot see (a bind mount) leads the walk
// into the repository, discards what it wrote.
var ErrOverlap = errors.New("repository and source overlap")

// maxDepth bounds the walk up a directory's parents (a loop would be a
// broken file system; PATH_MAX allows 2048 levels).
const maxDepth = 4096

// checkOverlap refuses a repository (which may not exist yet) inside the
// source, or a source inside the repository, by device and inode: it
// follows ".." up from each to "/" looking for the other, so symlinks and
// different spellings of one path do not matter. A repository reachable
// through a bind mount inside the source is found in the mount table (see
// reachableByWalk); should anything still lead the walk into the
// repository, the walk refuses it too (see forbiddenDirs).
func checkOverlap(src, repoPath string) error {
	repoDir, exists, err := nearestExisting(repoPath)
	if err != nil {
		return err
	}
	srcID, err := dirID(src)
	if err != nil {
		return err
	}
	in, err := hasAncestor(repoDir, srcID)
	if err == nil && !in && exists { // a missing repository holds nothing
		var repoID walker.FileID
		if repoID, err = dirID(repoDir); err == nil {
			in, err = hasAncestor(src, repoID)
		}
	}
	if err != nil {
		return fmt.Errorf("compare repository %s with source %s: %w", repoPath, src, err)
	}
	if in {
		return fmt.Errorf("%w: repository %s, source %s; put the repository outside the source", ErrOverlap, repoPath, src)
	}
	via, err := reachableByWalk(src, repoDir)
	if err != nil {
		return fmt.Errorf("compare repository %s with source %s: %w", repoPath, src, err)
	}
	if via != "" {
		return fmt.Errorf("%w: repository %s reached from the source at %s (a bind mount or another path to it); put the repository outside the source",
			ErrOverlap, repoPath, via)
	}
	return nil
}

// reachableByWalk returns where a walk of src, which stays on src's
// device, would meet the existing directory dir through a mount inside
// src that shows the same file system (a bind mount), or "" when it never
// would. It compares the directories of the file system that src and each
// such mount show with dir's own, from the mount table, so nothing is
// walked.
func reachableByWalk(src, dir string) (string, error) {
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		return "", err
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return "", err
	}
	srcID, err := dirID(src)
	if err != nil {
		return "", err
	}
	if id, err := dirID(dir); err != nil || id.Dev != srcID.Dev {
		return "", err // the walk never leaves the source's device
	}
	ms, err := mountinfo.Read()
	if err != nil {
		return "", err
	}
	dm, ok := mountinfo.Containing(ms, dir)
	sm, ok2 := mountinfo.Containing(ms, src)
	if !ok || !ok2 {
		return "", nil
	}
	dirFS := fsPath(dm, dir)
	views := []mountinfo.Entry{{Dev: sm.Dev, Root: fsPath(sm, src), Point: src}}
	for _, m := range ms {
		if m.Point == src || !mountinfo.Within(m.Point, src) {
			continue
		}
		if id, err := dirID(m.Point); err == nil && id.Dev == srcID.Dev {
			views = append(views, m)
		}
	}
	for _, v := range views {
		if v.Dev == dm.Dev && mountinfo.Within(dirFS, v.Root) {
			rel, _ := filepath.Rel(v.Root, dirFS)
			return filepath.Join(v.Point, rel), nil
		}
	}
	return "", nil
}

// fsPath is the path of p (on mount m) inside m's file system.
func fsPath(m mountinfo.Entry, p string) string {
	rel, _ := filepath.Rel(m.Point, p)
	return filepath.Join(m.Root, rel)
}

// nearestExisting returns path (absolute) if it exists, else its nearest
// ancestor that does.
func nearestExisting(path string) (dir string, exists bool, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false, err
	}
	for dir = abs; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(dir); err == nil || dir == filepath.Dir(dir) {
			return dir, dir == abs, nil
		}
	}
}

// dirID returns the device and inode of the directory path (symlinks
// followed).
func dirID(path string) (walker.FileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return walker.FileID{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return walker.FileID{Dev: st.Dev, Ino: st.Ino}, nil
}

// hasAncestor reports whether the directory dir, or one of its parents
// as ".." leads up to "/", is want.
func hasAncestor(dir string, want walker.FileID) (bool, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer func() { unix.Close(fd) }()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	for range maxDepth {
		if st.Dev == want.Dev && st.Ino == want.Ino {
			return true, nil
		}
		up, err := unix.Openat(fd, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return false, &os.PathError{Op: "open", Path: dir + "/..", Err: err}
		}
		unix.Close(fd)
		fd = up
		var parent unix.Stat_t
		if err := unix.Fstat(fd, &parent); err != nil {
			return false, err
		}
		if parent.Dev == st.Dev && parent.Ino == st.Ino {
			return false, nil // "/" is its own parent
		}
		st = parent
	}
	return false, fmt.Errorf("%s: more than %d parent directories", dir, maxDepth)
}

// forbiddenDirs returns the directories a backup's walk must never reach:
// the repository's root and the new backup's tree ("" while it does not
// exist yet: an in-place run snapshots it later, see ensureTree).
func forbiddenDirs(repoPath, tree string) ([]walker.FileID, error) {
	var ids []walker.FileID
	for _, p := range []string{repoPath, tree} {
		if p == "" {
			continue
		}
		id, err := dirID(p)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// repoMet turns the walk's refusal of a forbidden directory into
// ErrOverlap naming the source path where the repository was met; other
// errors pass unchanged.
func repoMet(err error, src, repoPath string) error {
	var fe *walker.ForbiddenError
	if !errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("%w: repository %s reached from the source at %s (a bind mount or another path to it); put the repository outside the source, nothing was kept",
		ErrOverlap, repoPath, filepath.Join(src, filepath.FromSlash(fe.Path)))
}
