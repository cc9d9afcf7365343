package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// RestoreOptions says which backup (or part of it) to restore where.
type RestoreOptions struct {
	Repo   string
	Name   string
	ID     string // "latest" or "" means the newest complete backup
	Target string // created if missing; must be empty unless Force
	Path   string // restore only this entry and what is below it
	Force  bool   // restore into a non-empty Target, replacing what is in the way
	// RootMetadata gives an existing Target restored into with Force the
	// backup root's mode, owner, times and xattrs when the whole backup is
	// restored (see Restore); without it such a Target keeps its own.
	RootMetadata bool
	Jobs         int
	Log          *slog.Logger
	// Progress, when set, counts entries and bytes restored.
	Progress *Progress
}

// RestoreResult counts what Restore wrote.
type RestoreResult struct {
	Backup  string
	Entries int64
	Bytes   int64
	Errors  int64
}

// ErrRestoreIncomplete means some entries could not be restored exactly
// (content that no longer matches its hash, an owner that could not be set).
var ErrRestoreIncomplete = errors.New("restore finished with errors")

// ErrNotApplicable reports an option that does not apply to the backup it
// was given for; nothing was changed.
var ErrNotApplicable = errors.New("does not apply")

// Restore writes a complete backup, or the part of it at o.Path, into
// o.Target with all recorded metadata. It refuses manifest paths that are
// absolute or contain "..", never writes through a symlink inside Target
// (every directory is resolved with openat2 RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS) and never writes outside Target. File contents are
// checked against their BLAKE3 hash as they are copied.
//
// A file-mode restore is never silently partial: Target holds the file
// RestoreMarker from before the first entry is written until every entry
// was written and synced to disk, so a restore that failed, was cancelled
// or was killed leaves it behind (entries that were restored with errors,
// which the returned error counts, do not keep it). Removing the marker
// changes the target directory's mtime, so that one is set again after it:
// a kill in between leaves everything restored but that mtime. A target
// holding the marker counts as non-empty: restoring into it again needs
// Force. A block-mode restore to a file writes a temporary file and renames
// it into place only when complete.
//
// The target directory itself takes the backup root's mode, owner, times
// and xattrs only when the whole backup (no Path) is restored onto it on
// purpose: when Restore creates it (or an interrupted restore did: it holds
// RestoreMarker), when it was empty (no Force needed), or with RootMetadata,
// as rsync -a SRC/ DST/ does. A directory restored into with Force keeps
// its own mode, owner and times (restoring into /srv or /tmp never changes
// them), and so does every target of a Path restore (one Restore creates is
// mode 0700), as tar -x -C DIR does with an archive that holds no "."
// entry: the target only holds the part.
func Restore(ctx context.Context, o RestoreOptions) (*RestoreResult, error) {
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs()
	}
	o.Log = orDiscard(o.Log)
	sub := strings.Trim(filepath.ToSlash(filepath.Clean("/"+o.Path)), "/")
	if err := manifest.ValidPath(sub); err != nil {
		return nil, fmt.Errorf("--path: %w", err)
	}
	r, err := repo.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	b, err := pickBackup(r, o.Name, o.ID)
	if err != nil {
		return nil, err
	}
	if b.Blocks() {
		if o.Path != "" {
			return nil, fmt.Errorf("--path %w: a block-mode backup is one image", ErrNotApplicable)
		}
		return restoreBlocks(ctx, r, b, o)
	}
	if err := checkSubPath(b.ManifestPath(), sub, b.Name+"/"+b.ID); err != nil {
		return nil, err
	}
	_, statErr := os.Lstat(o.Target)
	created := errors.Is(statErr, os.ErrNotExist) || hasRestoreMarker(o.Target) // new, or an interrupted restore's
	if err := prepareTarget(o.Target, o.Force); err != nil {
		return nil, err
	}
	root, err := openRoot(o.Target)
	if err != nil {
		return nil, err
	}
	defer root.close()
	tree, err := fileops.OpenTree(b.TreePath())
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	mr, err := manifest.Open(b.ManifestPath())
	if err != nil {
		return nil, err
	}
	defer mr.Close()
	kept, err := root.times()
	if err != nil {
		return nil, err
	}
	if err := root.markIncomplete(b.Name + "/" + b.ID); err != nil {
		return nil, err
	}
	o.Progress.expect(b.Info.Size)
	rs := &restorer{progress: o.Progress, root: root, tree: tree, sub: sub, force: o.Force, log: o.Log,
		dirs: map[string]bool{}, applyRoot: sub == "" && (created || !o.Force || o.RootMetadata)}
	res := &RestoreResult{Backup: b.Name + "/" + b.ID}
	err = rs.run(ctx, mr.Next, o.Jobs)
	res.Entries, res.Bytes, res.Errors = rs.entries.Load(), rs.bytes.Load(), rs.errCount.Load()
	if err != nil {
		return res, err // the marker stays: the target is incomplete
	}
	if err := root.markComplete(rs.rootEntry(), kept); err != nil {
		return res, err
	}
	if res.Errors > 0 {
		return res, fmt.Errorf("%w: %d entries (first: %s)", ErrRestoreIncomplete, res.Errors, rs.firstErr)
	}
	return res, nil
}

// pickBackup finds a complete backup by id, or the newest one.
func pickBackup(r *repo.Repo, name, id string) (*repo.Backup, error) {
	if name == "" {
		return nil, errors.New("restore needs a volume name")
	}
	return r.Pick(name, id)
}

// checkSubPath makes sure the manifest at path holds an entry for sub (""
// is the root, always there) before anything is written: a --path that
// matches nothing, or that goes through a symlink of the backup, wraps
// repo.ErrNotFound. The manifest is in Compare order, so the scan stops at
// the first entry past sub.
func checkSubPath(path, sub, backup string) error {
	if sub == "" {
		return nil
	}
	mr, err := manifest.Open(path)
	if err != nil {
		return err
	}
	defer mr.Close()
	for {
		e, err := mr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read manifest: %w", err)
		}
		if c := manifest.Compare(e.Path, sub); c == 0 {
			return nil
		} else if c > 0 {
			break
		}
	}
	return fmt.Errorf("--path %s: %w in backup %s", sub, repo.ErrNotFound, backup)
}

// prepareTarget creates a missing target and refuses a non-empty one
// unless force is set.
func prepareTarget(target string, force bool) error {
	if target == "" {
		return errors.New("no restore target given")
	}
	fi, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(target, 0o700)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("restore target %s is not a directory", target)
	}
	if force {
		return nil
	}
	f, err := os.Open(target)
	if err != nil {
		return err
	}
	defer f.Close()
	if hasRestoreMarker(target) {
		return fmt.Errorf("restore target %s holds an interrupted restore (%s); use --force to restore into it again", target, RestoreMarker)
	}
	if _, err := f.Readdirnames(1); !errors.Is(err, io.EOF) {
		return fmt.Errorf("restore target %s is not empty (use --force to restore into it)", target)
	}
	return nil
}

// restorer is the state of one restore.
type restorer struct {
	progress *Progress
	root     *rootDir
	tree     *fileops.Tree // the backup's tree: file contents are read beneath it
	sub      string
	force    bool
	log      *slog.Logger
	// applyRoot: the target takes the root entry's metadata (see Restore)
	applyRoot bool

	dirs     map[string]bool   // restored directories; walk goroutine only
	dirMeta  []*manifest.Entry // directories whose metadata comes last
	links    []*manifest.Entry // hard links made after the files exist
	prevPath string            // walk goroutine only

	entries, bytes, errCount atomic.Int64
	errMu                    sync.Mutex // guards firstErr
	firstErr                 string
}

// rootEntry returns the manifest entry of the target directory itself,
// nil when the target keeps its own metadata (see Restore).
func (rs *restorer) rootEntry() *manifest.Entry {
	if len(rs.dirMeta) > 0 && rs.dirMeta[0].Path == "" {
		return rs.dirMeta[0]
	}
	return nil
}

// selected reports whether p is wanted for the --path subset: the subset
// itself, what is below it, and the directories above it.
func (rs *restorer) selected(p string) bool {
	if rs.sub == "" || p == rs.sub || strings.HasPrefix(p, rs.sub+"/") {
		return true
	}
	return p == "" || strings.HasPrefix(rs.sub, p+"/")
}

func (rs *restorer) fail(path string, err error) {
	rs.errCount.Add(1)
	rs.log.Warn("not restored exactly", "path", path, "err", err)
	rs.errMu.Lock()
	defer rs.errMu.Unlock()
	if rs.firstErr == "" {
		rs.firstErr = fmt.Sprintf("%s: %v", path, err)
	}
}

// run restores every entry next yields; file copies go to jobs workers.
func (rs *restorer) run(ctx context.Context, next func() (*manifest.Entry, error), jobs int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	err := rs.walk(gctx, g, next)
	// A worker's failure cancels gctx, so the walk then stops with
	// context.Canceled: report the worker's error instead.
	if werr := g.Wait(); werr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = werr
	}
	if err != nil {
		return err
	}
	for _, e := range rs.links {
		if err := rs.root.link(e.LinkTo, e.Path); err != nil {
			return fmt.Errorf("hard link %s: %w", e.Path, err)
		}
	}
	for i := len(rs.dirMeta) - 1; i >= 0; i-- {
		e := rs.dirMeta[i]
		if err := rs.root.applyMeta(e.Path, e); err != nil {
			if !errors.Is(err, fileops.ErrNotPermitted) {
				return err
			}
			rs.fail(e.Path, err)
		}
	}
	return nil
}

func (rs *restorer) walk(ctx context.Context, g *errgroup.Group, next func() (*manifest.Entry, error)) error {
	first := true
	for {
		e, err := next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read manifest: %w", err)
		}
		if err := rs.check(e, first); err != nil {
			return err
		}
		first = false
		if !rs.selected(e.Path) {
			continue
		}
		if e.Path == RestoreMarker || strings.HasPrefix(e.Path, RestoreMarker+"/") {
			rs.log.Warn("not restoring a restore marker the backup holds", "path", e.Path)
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := rs.restoreEntry(ctx, g, e); err != nil {
			return err
		}
		rs.entries.Add(1)
		rs.progress.add(e.Size)
	}
}

// check refuses a manifest entry that could escape the target: a bad
// path, entries out of order, or a parent that is not a restored directory
// (a symlink "a" followed by "a/x" would otherwise write through it).
func (rs *restorer) check(e *manifest.Entry, first bool) error {
	if err := manifest.ValidPath(e.Path); err != nil {
		return fmt.Errorf("refusing manifest entry: %w", err)
	}
	if first != (e.Path == "") || (!first && manifest.Compare(rs.prevPath, e.Path) >= 0) {
		return fmt.Errorf("refusing manifest: entry %q out of order", e.Path)
	}
	rs.prevPath = e.Path
	if e.Path != "" && !rs.dirs[parentOf(e.Path)] {
		return fmt.Errorf("refusing manifest entry %q: its parent is not a directory of the backup", e.Path)
	}
	if e.LinkTo != "" {
		if err := manifest.ValidPath(e.LinkTo); err != nil || e.LinkTo == "" {
			return fmt.Errorf("refusing manifest entry %q: bad hard link target", e.Path)
		}
	}
	if e.Type == manifest.TypeDir {
		rs.dirs[e.Path] = true
	}
	return nil
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func (rs *restorer) restoreEntry(ctx context.Context, g *errgroup.Group, e *manifest.Entry) error {
	switch e.Type {
	case manifest.TypeDir:
		if e.Path == "" {
			if rs.applyRoot { // the target becomes the backup's root
				rs.dirMeta = append(rs.dirMeta, e)
			}
			return nil
		}
		rs.dirMeta = append(rs.dirMeta, e)
		return rs.root.mkdir(e.Path, rs.force)
	case manifest.TypeFile:
		if e.LinkTo != "" && rs.selected(e.LinkTo) {
			rs.links = append(rs.links, e)
			return nil
		}
		g.Go(func() error { return rs.restoreFile(ctx, e) })
		return nil
	}
	if err := rs.root.makeOther(e, rs.force); err != nil {
		return fmt.Errorf("restore %s: %w", e.Path, err)
	}
	return rs.metaOrFail(e)
}

// restoreFile copies one file's content from the backup tree, checks its
// hash and applies its metadata. It runs on a worker goroutine.
func (rs *restorer) restoreFile(ctx context.Context, e *manifest.Entry) error {
	src, err := rs.tree.Open(e.Path)
	if err != nil {
		rs.fail(e.Path, err)
		return nil
	}
	defer src.Close()
	sum, n, err := rs.root.copyFile(ctx, e.Path, src, e.Size, rs.force)
	if err != nil {
		if isRepoFailure(err) || ctx.Err() != nil {
			return fmt.Errorf("restore %s: %w", e.Path, err)
		}
		rs.fail(e.Path, err)
		return nil
	}
	rs.bytes.Add(n)
	if sum != e.Hash {
		rs.fail(e.Path, errors.New("content in the backup does not match its manifest hash"))
	}
	return rs.metaOrFail(e)
}

func (rs *restorer) metaOrFail(e *manifest.Entry) error {
	err := rs.root.applyMeta(e.Path, e)
	if errors.Is(err, fileops.ErrNotPermitted) {
		rs.fail(e.Path, err)
		return nil
	}
	return err
}
