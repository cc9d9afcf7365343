package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/objlock"
)

// ErrLocked reports that another lvback process holds the repository lock.
var ErrLocked = errors.New("repository is locked by another lvback run")

// Lock is a held repository lock. On a local repository it is a flock(2),
// which the kernel drops when the process dies, so a lock left by a
// killed run never blocks the next one; on a remote one it is a lock
// object (package objlock), stale once its holder stops rewriting it.
type Lock struct {
	f  *os.File
	ol *objlock.Lock
}

// Lock takes the repository's exclusive lock without waiting; when another
// process holds it the error wraps ErrLocked and names that process.
func (r *Repo) Lock() (*Lock, error) {
	if r.Remote != nil {
		return r.lockRemote(objlock.Request{Kind: objlock.Exclusive})
	}
	path := filepath.Join(r.Root, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscallNoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			who := "a process that did not write its pid (not lvback?)"
			if pid := strings.TrimSpace(string(holder)); pid != "" {
				who = "pid " + pid
			}
			return nil, fmt.Errorf("%s: %w (%s holds %s)", r.Root, ErrLocked, who, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// LockVolume takes the lock a backup of volume name needs: on a remote
// repository a shared lock that only excludes other backups of name and
// prune's sweep, so that hosts back up their volumes at once; on a local
// one the exclusive Lock.
func (r *Repo) LockVolume(name string) (*Lock, error) {
	if r.Remote != nil {
		return r.lockRemote(objlock.Request{Kind: objlock.Shared, Volume: name})
	}
	return r.Lock()
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
	l, err := objlock.Acquire(ctx, r.Remote, req)
	if errors.Is(err, objlock.ErrLocked) {
		return nil, fmt.Errorf("%s: %w: %w", r.Location, ErrLocked, err)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", r.Location, err)
	}
	return &Lock{ol: l}, nil
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
	_ = l.f.Truncate(0)
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
