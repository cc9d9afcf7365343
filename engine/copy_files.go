package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lvback/lvback/internal/durable"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// Origin is a complete file-mode backup of another repository that a
// Backup copies (see BackupOptions.Origin).
type Origin struct {
	Repo   *repo.Repo
	Backup *repo.Backup
}

// copyFiles copies file-mode backup b of from into to under its ID (see
// Copy), filling in c: a Backup of b's tree with b as its Origin.
func copyFiles(ctx context.Context, from, to *repo.Repo, b *repo.Backup, o CopyOptions, c *CopiedBackup) error {
	res, err := Backup(ctx, BackupOptions{Repo: to.String(), Name: b.Name, Source: b.TreePath(), Jobs: o.Jobs,
		Tags: copiedLabels(b).Tags, Locked: true, Log: o.Log, Progress: o.Progress, Origin: &Origin{Repo: from, Backup: b}})
	if errors.Is(err, ErrEntriesSkipped) && res != nil {
		err = nil // the entries b's own backup skipped, which its info records; the copy lacks nothing of b
	}
	if err != nil {
		return err
	}
	c.Stored, c.Bytes, c.Reused = res.Info.Copied, res.Info.AddedBytes, res.Info.Linked+res.Info.Reflinked
	return nil
}

// adopt makes info, a finished copy's, the origin's (its source, times,
// exclude rules and skipped entries) but for what the copy itself stored,
// records where it came from, and puts the origin's excluded list
// (if any) beside the copy's manifest. It fails unless the copy's
// manifest lists what the origin's lists: the same paths, each with the
// same type, content, size, mode, owner, mtime, xattrs, target, device
// and hard link (the inode number and ctime are the origin's by
// construction, see pending.recorded).
func (og *Origin) adopt(info *repo.Info, p *repo.Pending, started time.Time) error {
	if err := sameEntries(og.Backup.ManifestPath(), p.ManifestPath()); err != nil {
		return fmt.Errorf("the copy does not hold what %s/%s in %s holds (verify that backup): %w",
			og.Backup.Name, og.Backup.ID, og.Repo, err)
	}
	src := og.Backup.Info
	if src.Excludes != nil {
		if err := copyFileDurably(og.Backup.ExcludedPath(), p.ExcludedPath()); err != nil {
			return fmt.Errorf("copy the excluded list: %w", err)
		}
	}
	info.Source, info.Started, info.Finished = src.Source, src.Started, src.Finished
	info.Excludes, info.Excluded, info.ExcludesChanged = src.Excludes, src.Excluded, src.ExcludesChanged
	info.Errors, info.ErrorSamples = src.Errors, src.ErrorSamples
	info.CopiedFrom = copyOrigin(og.Repo, started)
	return nil
}

// sameEntries fails, naming the first difference and counting them,
// unless the manifests at a and b list the same entries (manifest.Diff
// finds no change).
func sameEntries(a, b string) error {
	ra, err := manifest.Open(a)
	if err != nil {
		return err
	}
	defer ra.Close()
	rb, err := manifest.Open(b)
	if err != nil {
		return err
	}
	defer rb.Close()
	var first *manifest.Change
	n := 0
	err = manifest.Diff(ra, rb, func(c manifest.Change) error {
		if first == nil {
			first = &c
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if first != nil {
		what := first.Kind
		if len(first.What) > 0 {
			what = fmt.Sprintf("%s %v", what, first.What)
		}
		return fmt.Errorf("%d entries differ, first %q: %s", n, first.Path, what)
	}
	return nil
}

// copyFileDurably copies the file from to a new file at to, durably.
func copyFileDurably(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := durable.Create(to, 0o600)
	if err != nil {
		return err
	}
	defer out.Cleanup()
	if _, err := io.Copy(out.File, in); err != nil {
		return err
	}
	return out.Commit()
}

// verifyPending re-reads the tree of a copy not yet committed (p, in
// the repository at repoPath) against its manifest, as Verify does for a
// complete backup, and fails when it finds a problem.
func verifyPending(ctx context.Context, repoPath string, p *repo.Pending, info *repo.Info, jobs int) error {
	b := &repo.Backup{Name: p.Name, ID: p.ID, Dir: p.Dir, Complete: true, Info: info}
	v := &verifier{jobs: jobs, hashed: make(map[devIno]hashKey), failed: make(map[devIno]string), problems: []Problem{}}
	if err := v.verifyBackup(ctx, b); err != nil {
		return err
	}
	if len(v.problems) > 0 {
		return fmt.Errorf("%w: %d problems in the copy (first: %s); files it linked come from the previous backup "+
			"of %s there: lvback verify --repo %s records those damaged, so that the next copy copies them instead",
			ErrVerifyFailed, len(v.problems), v.problems[0], p.Name, repoPath)
	}
	return nil
}
