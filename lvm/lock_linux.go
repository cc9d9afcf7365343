package lvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// runLock is a flock(2) on the run directory's lock file. Every process
// holding snapshots shares it; Cleanup takes it alone, so it never removes
// a snapshot a live lvback is reading. The kernel drops it when its holder
// dies, so a killed run never blocks a Cleanup.
type runLock struct{ f *os.File }

// openLock opens (creating it and runDir, 0700, if needed) runDir's lock
// file.
func openLock(runDir string) (*os.File, error) {
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(runDir, lockName), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
}

// lockShared takes runDir's lock shared, waiting while a Cleanup holds it,
// until ctx ends.
func lockShared(ctx context.Context, runDir string) (*runLock, error) {
	f, err := openLock(runDir)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return &runLock{f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// tryLockExclusive takes runDir's lock alone, or fails with errBusy when
// any process (this one included) holds it.
func tryLockExclusive(runDir string) (*runLock, error) {
	f, err := openLock(runDir)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", runDir, errBusy)
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return &runLock{f}, nil
}

// unlock drops the lock. It is safe on a nil lock.
func (l *runLock) unlock() {
	if l != nil {
		l.f.Close() // closing the only descriptor drops the flock
	}
}
