package objlock

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/objstore"
)

func dirStore(t *testing.T) (objstore.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := objstore.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func acquire(t *testing.T, s objstore.Store, req Request) *Lock {
	t.Helper()
	l, err := Acquire(context.Background(), s, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Release(context.Background()) })
	return l
}

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name      string
		held, req Request
		conflict  bool
	}{
		{"backups of two volumes", Request{Kind: Shared, Volume: "a"}, Request{Kind: Shared, Volume: "b"}, false},
		{"two backups of one volume", Request{Kind: Shared, Volume: "a"}, Request{Kind: Shared, Volume: "a"}, true},
		{"sweep during a backup", Request{Kind: Shared, Volume: "a"}, Request{Kind: Exclusive}, true},
		{"backup during a sweep", Request{Kind: Exclusive}, Request{Kind: Shared, Volume: "a"}, true},
		{"two sweeps", Request{Kind: Exclusive}, Request{Kind: Exclusive}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := dirStore(t)
			held := acquire(t, s, c.held)
			l, err := Acquire(ctx, s, c.req)
			if c.conflict {
				if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid ") {
					t.Fatalf("Acquire = %v, want ErrLocked naming the holder", err)
				}
				// The refused request left no lock behind.
				n := 0
				_ = s.List(ctx, prefix, func(objstore.Info) error { n++; return nil })
				if n != 1 {
					t.Errorf("%d lock objects after a refusal, want 1", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Acquire = %v, want no conflict", err)
			}
			_ = l.Release(ctx)
			_ = held.Release(ctx)
		})
	}
}

// A lock not rewritten for StaleAfter, by the store's clock, is taken
// over; a fresh one is not.
func TestStaleLockTakenOver(t *testing.T) {
	ctx := context.Background()
	s, dir := dirStore(t)
	// The lock of a host that died: nothing rewrites it any more.
	name := prefix + "exclusive-gone"
	if err := s.Put(ctx, name, []byte(`{"kind":"exclusive","host":"gone.example","pid":1,"acquired":"2026-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, s, Request{Kind: Shared, Volume: "a", StaleAfter: time.Hour}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a fresh lock was not respected: %v", err)
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, name), past, past); err != nil {
		t.Fatal(err)
	}
	acquire(t, s, Request{Kind: Shared, Volume: "a", StaleAfter: time.Hour})
	if _, err := s.Stat(ctx, name); !errors.Is(err, objstore.ErrNotExist) {
		t.Errorf("the stale lock is still there: %v", err)
	}
}

// A lock of a process of this host that no longer runs is taken over at
// once, whatever its age.
func TestDeadProcessLockTakenOver(t *testing.T) {
	ctx := context.Background()
	s, _ := dirStore(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dead := `{"kind":"exclusive","host":"` + host + `","pid":` + strconv.Itoa(cmd.Process.Pid) + `,"acquired":"2026-01-01T00:00:00Z"}`
	if err := s.Put(ctx, prefix+"exclusive-dead", []byte(dead)); err != nil {
		t.Fatal(err)
	}
	acquire(t, s, Request{Kind: Shared, Volume: "a"})
	if _, err := s.Stat(ctx, prefix+"exclusive-dead"); !errors.Is(err, objstore.ErrNotExist) {
		t.Errorf("the dead process's lock is still there: %v", err)
	}
	// Another host's lock is never judged by pid.
	other := strings.Replace(dead, host, host+"-elsewhere", 1)
	if err := s.Put(ctx, prefix+"exclusive-other", []byte(other)); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, s, Request{Kind: Shared, Volume: "b"}); !errors.Is(err, ErrLocked) {
		t.Errorf("another host's live lock was not respected: %v", err)
	}
}

// A held lock is rewritten while it is held, so it never goes stale; one
// removed by someone else is reported lost; Release removes it.
func TestRefreshAndLoss(t *testing.T) {
	ctx := context.Background()
	s, _ := dirStore(t)
	const stale = 600 * time.Millisecond
	l := acquire(t, s, Request{Kind: Shared, Volume: "a", StaleAfter: stale})
	first, err := s.Stat(ctx, l.name)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * stale)
	now, err := s.Stat(ctx, l.name)
	if err != nil || !now.ModTime.After(first.ModTime) {
		t.Fatalf("lock not refreshed: %v -> %v (%v)", first.ModTime, now.ModTime, err)
	}
	if _, err := Acquire(ctx, s, Request{Kind: Exclusive, StaleAfter: stale}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a refreshed lock was taken over: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, l.name); !errors.Is(err, objstore.ErrNotExist) {
		t.Errorf("released lock still there: %v", err)
	}

	lost := make(chan error, 1)
	l2 := acquire(t, s, Request{Kind: Shared, Volume: "b", StaleAfter: stale, OnLost: func(err error) { lost <- err }})
	if err := s.Delete(ctx, l2.name); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		if !strings.Contains(err.Error(), "removed by another process") {
			t.Errorf("OnLost(%v)", err)
		}
	case <-time.After(3 * stale):
		t.Fatal("OnLost not called after the lock was removed")
	}
}
