// Package objlock owns the locks several lvback processes, on one host or
// many, take on a repository kept in an objstore.Store: each holder
// writes a lock object (host, pid, kind, volume) under locks/ and
// rewrites it while it runs, so its modification time says it is alive;
// a lock not rewritten for StaleAfter is stale and taken over, as
// restic's are. Backups of different volumes share the repository;
// prune's sweep takes it exclusively; two backups of one volume exclude
// each other. It never looks at anything but locks/.
package objlock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/lvback/lvback/objstore"
)

// Kind says what a lock excludes.
type Kind string

// The lock kinds.
const (
	// Shared is held by a backup (with its Volume): it excludes Exclusive
	// locks and Shared locks of the same volume.
	Shared Kind = "shared"
	// Exclusive is held by prune's sweep: it excludes every other lock.
	Exclusive Kind = "exclusive"
)

// Defaults, restic's: a holder rewrites its lock every 5 minutes, and a
// lock not rewritten for 30 minutes belongs to a holder that died.
const (
	DefaultStaleAfter = 30 * time.Minute
	refreshFraction   = 6 // refresh every StaleAfter/6
)

const prefix = "locks/"

// ErrLocked reports a conflicting live lock; the error names its holder.
var ErrLocked = errors.New("repository is locked")

// ErrExclusive is wrapped, beside ErrLocked, when the conflicting lock is
// an exclusive one (a short sweep a backup may wait for).
var ErrExclusive = errors.New("an exclusive lock is held")

// Request describes the lock to take.
type Request struct {
	Kind   Kind
	Volume string // the volume a Shared lock backs up
	// StaleAfter is how long a lock lives without being rewritten;
	// DefaultStaleAfter when zero.
	StaleAfter time.Duration
	// OnLost, when set, is called (once, from the refresh goroutine) when
	// the lock could not be rewritten or was removed by someone else: the
	// holder must stop, as another process may now take the repository.
	OnLost func(error)
}

// record is a lock object's content.
type record struct {
	Kind     Kind      `json:"kind"`
	Volume   string    `json:"volume,omitempty"`
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	Acquired time.Time `json:"acquired"`
}

// Lock is a held lock; Release it when done.
type Lock struct {
	store objstore.Store
	name  string
	data  []byte
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// Acquire takes a lock of req's kind on the repository in store. It
// writes its lock object first and then looks for conflicting ones, so of
// two processes racing for conflicting locks at least one fails. A
// conflicting lock whose holder died (not rewritten for StaleAfter, or of
// a process of this host that no longer runs) is removed and does not
// count. It fails with an error wrapping ErrLocked that names the holder.
func Acquire(ctx context.Context, store objstore.Store, req Request) (*Lock, error) {
	if req.Kind != Shared && req.Kind != Exclusive {
		return nil, fmt.Errorf("lock: unknown kind %q", req.Kind)
	}
	if req.StaleAfter <= 0 {
		req.StaleAfter = DefaultStaleAfter
	}
	host, _ := os.Hostname()
	rec := record{Kind: req.Kind, Volume: req.Volume, Host: host, PID: os.Getpid(), Acquired: time.Now().UTC()}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	l := &Lock{store: store, name: prefix + string(req.Kind) + "-" + hex.EncodeToString(rnd[:]), data: data,
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := store.Put(ctx, l.name, data); err != nil {
		return nil, fmt.Errorf("write lock %s: %w", l.name, err)
	}
	if err := l.check(ctx, rec, host, req.StaleAfter); err != nil {
		_ = store.Delete(context.WithoutCancel(ctx), l.name)
		return nil, err
	}
	go l.refresh(req.StaleAfter/refreshFraction, req.OnLost)
	return l, nil
}

// check looks at every other lock: stale ones are removed, a live one
// that conflicts with rec is an error.
func (l *Lock) check(ctx context.Context, rec record, host string, staleAfter time.Duration) error {
	own, err := l.store.Stat(ctx, l.name)
	if err != nil {
		return fmt.Errorf("read back lock %s: %w", l.name, err)
	}
	now := own.ModTime // the store's clock: no skew between hosts
	var others []objstore.Info
	err = l.store.List(ctx, prefix, func(fi objstore.Info) error {
		if fi.Name != l.name {
			others = append(others, fi)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list locks: %w", err)
	}
	for _, fi := range others {
		b, err := l.store.Get(ctx, fi.Name)
		if errors.Is(err, objstore.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return fmt.Errorf("read lock %s: %w", fi.Name, err)
		}
		var o record
		if err := json.Unmarshal(b, &o); err != nil {
			return fmt.Errorf("lock %s: unreadable: %w", fi.Name, err)
		}
		age := now.Sub(fi.ModTime)
		if age > staleAfter || o.Host == host && !processAlive(o.PID) {
			if err := l.store.Delete(ctx, fi.Name); err != nil {
				return fmt.Errorf("remove stale lock %s: %w", fi.Name, err)
			}
			continue
		}
		if conflicts(rec, o) {
			what := string(o.Kind) + " lock"
			if o.Volume != "" {
				what += " for volume " + o.Volume
			}
			err := fmt.Errorf("%w: %s held by pid %d on %s since %s (refreshed %s ago)", ErrLocked, what, o.PID, o.Host,
				o.Acquired.Format(time.RFC3339), age.Round(time.Second))
			if o.Kind == Exclusive {
				err = fmt.Errorf("%w (%w)", err, ErrExclusive)
			}
			return err
		}
	}
	return nil
}

// conflicts reports whether locks a and b cannot be held at once.
func conflicts(a, b record) bool {
	return a.Kind == Exclusive || b.Kind == Exclusive || a.Volume == b.Volume
}

// processAlive reports whether a process with pid runs on this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// refresh rewrites the lock every interval until Release. A lock that
// is gone or cannot be rewritten is lost: onLost is told and refreshing
// stops.
func (l *Lock) refresh(interval time.Duration, onLost func(error)) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		_, err := l.store.Stat(ctx, l.name)
		if err == nil {
			err = l.store.Put(ctx, l.name, l.data)
		} else if errors.Is(err, objstore.ErrNotExist) {
			err = fmt.Errorf("lock %s was removed by another process", l.name)
		}
		cancel()
		if err != nil {
			if onLost != nil {
				onLost(fmt.Errorf("lost the repository lock: %w", err))
			}
			return
		}
	}
}

// Release stops refreshing and removes the lock object. It is safe to
// call more than once.
func (l *Lock) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		err = l.store.Delete(ctx, l.name)
	})
	return err
}

// String names the lock (its object's name) for messages.
func (l *Lock) String() string { return l.name }
