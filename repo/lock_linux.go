package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/objlock"
)

// ErrLocked reports that another lvback process holds the repository lock.
var ErrLocked = errors.New("repository is locked by another lvback run")

// Lock is a held repository lock. On a local repository it is a flock(2),
// which the kernel drops when the process dies, so a lock left by a
// killed run never blocks the next one; on a remote one it is a lock
// object (package objlock), stale once its holder stops rewriting it.
type Lock struct {
	f    *os.File // REPO/lock, exclusive or shared
	excl bool     // f is locked exclusively (and holds the pid)
	vol  *os.File // REPO/locks/NAME.lock of a volume's lock
	ol   *objlock.Lock
	lost atomic.Pointer[error] // a remote lock's loss (objlock's OnLost)
}

// Err reports a lock lost while held: a remote lock that could not be
// rewritten, or that another host took over as stale. A backup must not
// commit then: prune may have swept chunks it counts on. A flock is never
// lost.
func (l *Lock) Err() error {
	if p := l.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// volumeLocksDir holds a local repository's per-volume lock files.
const volumeLocksDir = "locks"

// Lock takes the repository's exclusive lock without waiting; when another
// process holds it the error wraps ErrLocked and names that process.
func (r *Repo) Lock() (*Lock, error) {
	if r.Remote != nil {
		return r.lockRemote(objlock.Request{Kind: objlock.Exclusive})
	}
	f, err := flockFile(filepath.Join(r.Root, "lock"), unix.LOCK_EX, "backups of this repository are running")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Root, err)
	}
	return &Lock{f: f, excl: true}, nil
}

// LockVolume takes the lock a backup of volume name needs, which only
// excludes other backups of name and the exclusive Lock (prune's chunk
// sweep, repairs), so that backups of different volumes, from different
// hosts too, run at once: on a remote repository a shared lock object
// for name; on a local one (also shared over NFS or GlusterFS, whose
// flock works across hosts) a shared flock of REPO/lock plus an exclusive
// one of REPO/locks/NAME.lock. A local repository that no other lvback
// uses at that moment first gets the chunk temporary files of killed
// runs removed, under the exclusive lock, which no backup writing chunks
// can hold meanwhile.
//
// While the exclusive lock is held (prune's sweep, usually seconds) it
// waits, up to $LVBACK_LOCK_WAIT (default DefaultLockWait); another backup
// of name fails it at once.
func (r *Repo) LockVolume(name string) (*Lock, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	wait, err := lockWait()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		l, err := r.lockVolume(name)
		if err == nil || !errors.Is(err, errExclusiveHeld) || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(lockPoll)
	}
}

// DefaultLockWait is how long a backup waits for the exclusive lock to
// be released; LockWaitEnv overrides it (a Go duration, 0 for none).
const (
	DefaultLockWait = 15 * time.Minute
	LockWaitEnv     = "LVBACK_LOCK_WAIT"
	lockPoll        = time.Second
)

// errExclusiveHeld marks a lock refused because the exclusive lock is
// held: LockVolume waits for it.
var errExclusiveHeld = errors.New("the exclusive lock is held")

func lockWait() (time.Duration, error) {
	s := os.Getenv(LockWaitEnv)
	if s == "" {
		return DefaultLockWait, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration like 10m, or 0", LockWaitEnv, s)
	}
	return d, nil
}

// lockVolume is one attempt of LockVolume.
func (r *Repo) lockVolume(name string) (*Lock, error) {
	if r.Remote != nil {
		l, err := r.lockRemote(objlock.Request{Kind: objlock.Shared, Volume: name})
		if errors.Is(err, objlock.ErrExclusive) {
			err = fmt.Errorf("%w (%w)", err, errExclusiveHeld)
		}
		return l, err
	}
	f, err := r.lockShared()
	if errors.Is(err, ErrLocked) {
		err = fmt.Errorf("%w (%w)", err, errExclusiveHeld) // only an exclusive holder refuses a shared flock
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Root, err)
	}
	dir := filepath.Join(r.Root, volumeLocksDir)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		f.Close()
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	vol, err := flockFile(filepath.Join(dir, name+".lock"), unix.LOCK_EX, "")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: volume %s: %w", r.Root, name, err)
	}
	return &Lock{f: f, vol: vol}, nil
}

// lockShared takes REPO/lock shared; when it can have it exclusively
// (nobody else uses the repository) it first removes the chunk temporary
// files killed runs left.
func (r *Repo) lockShared() (*os.File, error) {
	path := filepath.Join(r.Root, "lock")
	f, err := flockFile(path, unix.LOCK_EX, "")
	if errors.Is(err, ErrLocked) {
		return flockFile(path, unix.LOCK_SH, "")
	}
	if err != nil {
		return nil, err
	}
	if err := r.removeChunkTemps(); err != nil {
		f.Close()
		return nil, err
	}
	_ = f.Truncate(0) // a shared lock names no holder
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		f.Close() // another process took it in between: try as anyone would
		return flockFile(path, unix.LOCK_SH, "")
	}
	return f, nil
}

// removeChunkTemps removes the temporary chunk files killed block
// backups left; the caller holds the exclusive lock.
func (r *Repo) removeChunkTemps() error {
	if _, err := os.Stat(r.ChunksDir()); err != nil {
		return nil // no block backup was ever made
	}
	s, err := blockdiff.OpenDirStore(r.ChunksDir())
	if err != nil {
		return err
	}
	_, err = s.RemoveTemp(context.Background())
	return err
}

// flockFile takes a flock of kind (LOCK_EX or LOCK_SH) on the file at
// path without waiting. An exclusive holder writes its pid there, which
// the error of a refused request names (else busy says who holds it).
func flockFile(path string, kind int, busy string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscallNoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), kind|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			who := busy
			if pid := strings.TrimSpace(string(holder)); pid != "" {
				who = "pid " + pid + " holds " + path
			} else if who == "" {
				who = "a process that did not write its pid (not lvback?) holds " + path
			}
			return nil, fmt.Errorf("%w (%s)", ErrLocked, who)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if kind == unix.LOCK_EX {
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// LockStaleEnv names the variable that sets how long a remote lock lives
// without being rewritten before another host takes it over (a Go
// duration; objlock.DefaultStaleAfter, 30 minutes, when unset).
const LockStaleEnv = "LVBACK_LOCK_STALE_AFTER"

func (r *Repo) lockRemote(req objlock.Request) (*Lock, error) {
	if s := os.Getenv(LockStaleEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s=%q: want a duration like 30m", LockStaleEnv, s)
		}
		req.StaleAfter = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	lk := &Lock{}
	req.OnLost = func(err error) { lk.lost.Store(&err) }
	l, err := objlock.Acquire(ctx, r.Remote, req)
	if errors.Is(err, objlock.ErrLocked) {
		return nil, fmt.Errorf("%s: %w: %w", r.Location, ErrLocked, err)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", r.Location, err)
	}
	lk.ol = l
	return lk, nil
}

// Unlock releases the lock. Safe to call twice.
func (l *Lock) Unlock() {
	if l != nil && l.ol != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = l.ol.Release(ctx) // a lock left behind goes stale
		cancel()
		return
	}
	if l == nil || l.f == nil {
		return
	}
	if l.vol != nil {
		_ = l.vol.Truncate(0)
		l.vol.Close()
		l.vol = nil
	}
	if l.excl {
		_ = l.f.Truncate(0)
	}
	l.f.Close() // closing the descriptor releases the flock
	l.f = nil
}

// lockDamaged serialises rewrites of the list between processes (verify
// takes no repository lock). Held for milliseconds, so it waits.
func (r *Repo) lockDamaged() (func(), error) {
	path := filepath.Join(r.Root, damagedLock)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscallNoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// checkMarkerOwner refuses a marker that someone other than root or the
// current user owns, or that group or others may write: whoever can write
// it decides where prune deletes.
func checkMarkerOwner(fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by root or you; refusing the repository", MarkerFile, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %04o); refusing the repository", MarkerFile, fi.Mode().Perm())
	}
	return nil
}

const syscallNoFollow = unix.O_NOFOLLOW | unix.O_CLOEXEC
