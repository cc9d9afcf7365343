package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrLocked reports that another lvback process holds the repository lock.
var ErrLocked = errors.New("repository is locked by another lvback run")

// Lock is a held repository lock. The kernel drops it when the process
// dies, so a lock left by a killed run never blocks the next one.
type Lock struct{ f *os.File }

// Lock takes the repository's exclusive lock without waiting; when another
// process holds it the error wraps ErrLocked and names that process.
func (r *Repo) Lock() (*Lock, error) {
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

// Unlock releases the lock. Safe to call twice.
func (l *Lock) Unlock() {
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
