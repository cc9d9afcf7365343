package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/zeebo/blake3"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/internal/tags"
	"github.com/lvback/lvback/repo"
)

// BackupOptions says what to back up into which repository. It is the
// one options type of a backup in either mode: Backup (file mode) takes
// it as is, BackupBlocks takes it inside BlockOptions. Every field applies
// to both modes unless its comment says "file mode only".
type BackupOptions struct {
	Repo   string // repository directory, made by Init (a backup never creates one)
	Name   string // volume name the backup is filed under
	Source string // file mode: directory to back up (a mounted snapshot, or a live tree); block mode: image file or block device
	Label  string // what info.json names as the source (e.g. the LV); default Source
	// Exclude are relative paths left out with everything below them
	// (lvback's own, not recorded). File mode only.
	Exclude []string
	// Excludes are the user's exclude rules: what they leave out is in
	// neither the tree nor the manifest, but in the excluded list, and
	// info.json records them (and how they changed since the last backup).
	// File mode only: BackupBlocks refuses rules.
	Excludes exclude.Spec
	// Jobs is the number of concurrent workers: file workers in file mode
	// (0 means DefaultJobs()), chunk reading/hashing/compressing workers
	// in block mode (0 means blockdiff's default, two per CPU).
	Jobs int
	// Checksum hashes unchanged-looking source files against the previous
	// manifest (never the tree: see decide). File mode only: block mode
	// hashes every chunk anyway.
	Checksum bool
	// Tags are written with the backup (repo.Labels), before it is
	// committed; each value is one tag or several separated by commas.
	Tags []string
	// Now is the clock that names the backup; nil means time.Now.
	Now func() time.Time `json:"-"`
	// BeforeCommit, when set, runs after the backup's data and manifest are
	// durable and before it becomes complete; an error aborts the backup
	// (used to refuse a backup whose snapshot overflowed meanwhile).
	BeforeCommit func() error `json:"-"`
	// Locked says the caller already holds the repository lock (a `run`
	// over many volumes holds it throughout).
	Locked bool
	// held is the volume's lock BackupVolume took before the snapshot
	// (Locked is then set): a lost remote lock stops the commit.
	held *repo.Lock
	// Progress, when set, is updated as files are done; the expected total
	// is the previous backup's size.
	Progress *Progress `json:"-"`
	// Log receives warnings (skipped entries, an unreadable previous
	// manifest); nil discards them.
	Log *slog.Logger `json:"-"`

	// Origin, when set, says Source is the tree of Origin.Backup, a
	// complete file-mode backup of another repository, and makes the new
	// backup a copy of it (Copy sets it): it gets Origin.Backup's ID
	// (repo.BeginID) and info (repo.Info.CopiedFrom names Origin.Repo),
	// and its manifest records what the origin's does, the live source's
	// inode numbers and ctimes included, so that a later copy links what
	// did not change. Before it is committed, its manifest must list what
	// the origin's lists and its tree must verify against it. File mode
	// only.
	Origin *Origin `json:"-"`

	// beforeOpen, when set, is called by a worker just before it opens a
	// source file (relative path): tests change the source at that moment.
	beforeOpen func(rel string)
}

// Result describes a finished backup.
type Result struct {
	Info repo.Info
	Dir  string // the backup's directory
	Tree string // the browsable tree inside Dir
}

// ErrEntriesSkipped means the backup completed but some entries could not
// be read; Result.Info lists them. The caller should exit non-zero.
var ErrEntriesSkipped = errors.New("backup completed, but some entries were skipped")

// Backup makes a new dated backup of o.Source under o.Name. Unchanged files
// are hard-linked from the newest complete backup of that name; the rest is
// copied. The backup becomes complete only after its data, manifest and
// info are durable; on any failure (or cancellation) its temporary
// directory is removed and earlier backups are untouched. Only one backup
// runs per repository at a time (repo.ErrLocked otherwise).
func Backup(ctx context.Context, o BackupOptions) (*Result, error) {
	o = o.withDefaults()
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs()
	}
	if err := repo.ValidName(o.Name); err != nil {
		return nil, err
	}
	if repo.IsRemote(o.Repo) {
		return nil, fmt.Errorf("backup %s: %w: file mode keeps browsable trees of hard links, which need a POSIX file system; "+
			"a remote repository (%s) holds block-mode backups (--mode blocks) only; for files, mount a shared file system "+
			"(NFS, GlusterFS, CephFS with working flock) and give its path", o.Name, ErrNotApplicable, o.Repo)
	}
	rules, err := compileExcludes(o.Excludes)
	if err != nil {
		return nil, err
	}
	labels, err := o.labels()
	if err != nil {
		return nil, err
	}
	src, err := checkSource(o.Source, o.Repo)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", o.Name, err)
	}
	r, unlock, lost, err := openForBackup(o.Repo, o.Name, o.Locked, o.held, o.Jobs, o.Log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	prev, err := r.Latest(o.Name)
	if err != nil {
		return nil, err
	}
	started := o.Now()
	p, err := o.begin(r, started)
	if err != nil {
		return nil, err
	}
	p.Labels = labels
	committed := false
	defer func() {
		if !committed {
			_ = removeBackupDir(p.Dir, o.Jobs)
		}
	}()
	if prev != nil && prev.Blocks() {
		prev = nil // a block-mode image is no base for a file tree
	}
	base, err := makeTree(r, p, prev)
	if err != nil {
		return nil, err
	}
	rn := newFileRun(o, src, p, prev)
	rn.inPlace, rn.base = base != "", base
	rn.cloneSource = r.Layout == repo.LayoutSubvolume
	rn.rules = rules
	if rn.damaged, err = loadDamaged(r, o.Name); err != nil {
		return nil, fmt.Errorf("backup %s: %w", o.Name, err)
	}
	info, err := rn.do(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", o.Name, err)
	}
	if info.DamagedCopied > 0 {
		o.Log.Warn("files copied instead of linked: recorded damaged by verify", "files", info.DamagedCopied)
	}
	if o.BeforeCommit != nil {
		if err := o.BeforeCommit(); err != nil {
			return nil, fmt.Errorf("backup %s not kept: %w", o.Name, err)
		}
	}
	if err := o.describe(info, p, src, started, prev); err != nil {
		return nil, fmt.Errorf("backup %s not kept: %w", o.Name, err)
	}
	if err := lost(); err != nil {
		return nil, fmt.Errorf("backup %s not kept: %w", o.Name, err)
	}
	if err := rn.seal(r.Layout); err != nil {
		return nil, err
	}
	if o.Origin != nil {
		if err := verifyPending(ctx, o.Repo, p, info, o.Jobs); err != nil {
			return nil, fmt.Errorf("backup %s not kept: %w", o.Name, err)
		}
	}
	if err := p.Commit(info); err != nil {
		return nil, err
	}
	committed = true
	res := &Result{Info: *info, Dir: p.Dir, Tree: p.TreePath()}
	if info.Errors > 0 {
		return res, fmt.Errorf("%w: %d entries (first: %s: %s)", ErrEntriesSkipped, info.Errors,
			info.ErrorSamples[0].Path, info.ErrorSamples[0].Error)
	}
	return res, nil
}

// begin starts the new backup: with the origin's ID for a copy, else
// one the clock at started gives.
func (o *BackupOptions) begin(r *repo.Repo, started time.Time) (*repo.Pending, error) {
	if o.Origin != nil {
		return r.BeginID(o.Name, o.Origin.Backup.ID)
	}
	return r.Begin(o.Name, started)
}

// labels are the labels a new backup gets: its tags.
func (o *BackupOptions) labels() (repo.Labels, error) {
	ts, err := tags.Parse(o.Tags)
	return repo.Labels{Tags: ts}, err
}

// describe fills in what info says of the backup beyond what the run
// counted: the source, the times and the exclude rules, which a copy
// takes from its origin (Origin.adopt).
func (o *BackupOptions) describe(info *repo.Info, p *repo.Pending, src string, started time.Time, prev *repo.Backup) error {
	info.Mode = repo.ModeFiles
	if o.Origin != nil {
		return o.Origin.adopt(info, p, started)
	}
	o.recordExcludes(info, prev)
	info.Source = src
	if o.Label != "" {
		info.Source = o.Label
	}
	info.Started, info.Finished = started.UTC(), o.Now().UTC()
	return nil
}

// withDefaults fills in the defaults both modes share: the clock and the
// logger. Jobs is left alone: its default depends on the mode.
func (o BackupOptions) withDefaults() BackupOptions {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Log = orDiscard(o.Log)
	return o
}

// checkSource resolves the source and refuses a missing source, a source
// that is not a directory, and a repository inside the source or the other
// way round (the backup would copy itself).
func checkSource(source, repoPath string) (string, error) {
	if source == "" {
		return "", errors.New("no source given")
	}
	src, err := filepath.EvalSymlinks(source)
	if err != nil {
		return "", fmt.Errorf("source %s: %w", source, errors.Unwrap(err))
	}
	src, err = filepath.Abs(src)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("source %s is not a directory", source)
	}
	if err := checkOverlap(src, repoPath); err != nil {
		return "", err
	}
	return src, nil
}

// removePartials deletes the temporary directories of runs that died; the
// caller holds the lock, so none of them belongs to a live run.
func removePartials(r *repo.Repo, name string, jobs int, log *slog.Logger) error {
	ps, err := r.Partials(name)
	if err != nil {
		return err
	}
	for _, b := range ps {
		log.Warn("removing incomplete backup left by an interrupted run", "dir", b.Dir)
		if err := removeBackupDir(b.Dir, jobs); err != nil {
			return fmt.Errorf("remove incomplete backup %s: %w", b.Dir, err)
		}
	}
	return nil
}

// hashFile returns the BLAKE3 of a whole file, as a hex string.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := blake3.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}
