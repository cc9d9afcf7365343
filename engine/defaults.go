// Package engine runs lvback's operations on a repository: init; backup
// of a directory tree into a dated, hard-linked tree with a manifest (file
// mode) or of an image into chunks (block mode); diff, list, verify,
// restore, prune, and copy between repositories. It picks the backups an
// operation works on and dispatches on their mode, and decides what to do
// with each entry;
// package walker reads the source, fileops writes, manifest records,
// blockdiff chunks, lvm snapshots and repo owns the layout. It never
// prints: callers get results, errors and callbacks.
package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/lvback/lvback/repo"
)

// raceWindow is how close to the previous backup's start a recorded mtime
// may be before the file is re-hashed instead of trusted: a write in the
// same timestamp tick as the previous read leaves mtime unchanged (borg
// #3535). Linux file systems stamp with the coarse clock (a few ms); one
// second also covers file systems with second granularity.
const raceWindow = time.Second

// maxErrorSamples caps how many failed paths a backup's info records; the
// count is always exact.
const maxErrorSamples = 100

// orderedWindow bounds how many entries may wait for their copy to finish
// before the manifest writer records them in order (back-pressure for the
// walker, so memory stays flat).
const orderedWindow = 4096

// maxHealCopies bounds the other files with a damaged file's content
// that verify --repair tries, newest backup first: each try reads the
// whole file, and copies that all fail their hash say the content is
// gone, not that repair was unlucky.
const maxHealCopies = 4

// maxBatch is how many files of one directory a worker takes at once: big
// enough that workers rarely share a directory, small enough that a huge
// directory still spreads over all workers.
const maxBatch = 64

// DefaultJobs is the number of concurrent file workers when none is set.
// Linking and copying are syscall-bound: on 2 cores, 8 link goroutines did
// 228k links/s against 130k for one (shared/notes/baseline.md), so use
// more workers than cores.
func DefaultJobs() int { return max(4, 2*runtime.NumCPU()) }

// orDiscard returns l, or a logger that drops everything when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l
}

// lockUnlessHeld takes the repository lock unless the caller holds it
// already, and returns the matching unlock (a no-op when held).
func lockUnlessHeld(r *repo.Repo, held bool) (func(), error) {
	if held {
		return func() {}, nil
	}
	l, err := r.Lock()
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

// openForBackup opens the existing repository at path (never creating
// one: a missing or empty path may be a backup disk that is not mounted,
// see repo.Open), takes the lock a backup of name needs unless the caller
// holds the repository's, and removes the partial backups of name that
// killed runs left (in a remote repository also their uncommitted
// indexes). The caller calls the returned unlock when done, and commits
// only when the returned lost reports nil (see repo.Lock.Err).
func openForBackup(path, name string, held bool, heldLock *repo.Lock, jobs int, log *slog.Logger) (r *repo.Repo, unlock func(), lost func() error, err error) {
	r, unlock, lost, err = lockForBackup(path, name, held)
	if err == nil && heldLock != nil {
		lost = heldLock.Err
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if err := prepareVolume(r, name, jobs, log); err != nil {
		unlock()
		return nil, nil, nil, err
	}
	return r, unlock, lost, nil
}

// lockForBackup opens the repository at path and takes the lock a backup
// of name needs unless held.
func lockForBackup(path, name string, held bool) (*repo.Repo, func(), func() error, error) {
	r, err := repo.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if held {
		return r, func() {}, func() error { return nil }, nil
	}
	l, err := r.LockVolume(name)
	if err != nil {
		return nil, nil, nil, err
	}
	return r, l.Unlock, l.Err, nil
}

// prepareVolume readies r for a new backup of name once the caller holds
// its lock: it brings a remote repository's cache up to date with what
// other hosts committed before the lock, and removes the partial backups
// of name that killed runs left (in a remote repository also their
// uncommitted indexes).
func prepareVolume(r *repo.Repo, name string, jobs int, log *slog.Logger) error {
	if err := r.Refresh(context.Background()); err != nil {
		return err
	}
	if err := removePartials(r, name, jobs, log); err != nil {
		return err
	}
	if n, err := r.RemoveUncommitted(context.Background(), name); err != nil {
		return fmt.Errorf("remove the uncommitted backups of %s from %s: %w", name, r, err)
	} else if n > 0 {
		log.Warn("removed uncommitted backups left by interrupted runs", "name", name, "count", n)
	}
	return nil
}
