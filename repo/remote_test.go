package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/crypt"
)

// remoteDir is a remote repository's store kept in a local directory,
// and the cache base of one host.
func remoteDir(t *testing.T) (objstore.Store, string) {
	t.Helper()
	objs, err := objstore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return objs, t.TempDir()
}

// onHost opens the remote repository with host's cache.
func onHost(t *testing.T, objs objstore.Store, cache string) *Repo {
	t.Helper()
	t.Setenv(CacheEnv, cache)
	r, err := OpenStore(context.Background(), "s3:test", objs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// commitBlocks commits a block-mode backup of name with the given index
// bytes.
func commitBlocks(t *testing.T, r *Repo, name string, now time.Time, index string) *Pending {
	t.Helper()
	p, err := r.Begin(name, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.IndexPath(), []byte(index), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(&Info{Mode: ModeBlocks, Started: now}); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(t *testing.T, r *Repo, name string) []string {
	t.Helper()
	bs, err := r.Backups(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bs {
		if b.Complete {
			out = append(out, b.ID)
		}
	}
	return out
}

// Two hosts share a remote repository: what one commits the other sees
// after a Refresh (index and info in its cache), what one prunes the
// other's cache drops; an index without info (a killed run) is not a
// backup and RemoveUncommitted deletes it.
func TestRemoteRepositoryTwoHosts(t *testing.T) {
	ctx := context.Background()
	objs, cacheA := remoteDir(t)
	t.Setenv(CacheEnv, cacheA)
	a, err := CreateStore(ctx, "s3:test", objs, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateStore(ctx, "s3:test", objs, Settings{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second CreateStore: %v, want ErrExists", err)
	}
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	p1 := commitBlocks(t, a, "vm1", now, "index one")
	commitBlocks(t, a, "vm1", now.Add(time.Hour), "index two")

	b := onHost(t, objs, t.TempDir())
	if got := ids(t, b, "vm1"); len(got) != 2 {
		t.Fatalf("host b sees %v, want two backups", got)
	}
	bs, _ := b.Backups("vm1")
	if data, err := os.ReadFile(bs[0].IndexPath()); err != nil || string(data) != "index one" {
		t.Fatalf("host b's cached index = %q, %v", data, err)
	}
	commitBlocks(t, b, "vm2", now, "index of vm2")

	// A killed run of vm1 on host b: its index reached the store, its info did not.
	if err := objs.Put(ctx, "backups/vm1/2026-11-27T050000Z/index.zst", []byte("half")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(CacheEnv, cacheA)
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, a, "vm2"); len(got) != 1 {
		t.Errorf("host a sees vm2 backups %v, want one", got)
	}
	if got := ids(t, a, "vm1"); len(got) != 2 {
		t.Errorf("host a sees vm1 backups %v: the uncommitted one must not count", got)
	}
	if n, err := a.RemoveUncommitted(ctx, "vm1"); err != nil || n != 1 {
		t.Errorf("RemoveUncommitted = %d, %v; want 1", n, err)
	}
	if _, err := objs.Stat(ctx, "backups/vm1/2026-11-27T050000Z/index.zst"); !errors.Is(err, objstore.ErrNotExist) {
		t.Errorf("uncommitted index still in the store: %v", err)
	}

	// Host a prunes vm1's first backup: gone from the store, and from
	// host b's cache at its next refresh.
	first, err := a.Find("vm1", p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Retire(first); err != nil {
		t.Fatal(err)
	}
	var left []string
	_ = objs.List(ctx, "backups/vm1/", func(fi objstore.Info) error { left = append(left, fi.Name); return nil })
	slices.Sort(left)
	if want := []string{"backups/vm1/2026-11-27T040000Z/index.zst", "backups/vm1/2026-11-27T040000Z/info.json"}; !slices.Equal(left, want) {
		t.Errorf("store holds %q after the prune, want %q", left, want)
	}
	t.Setenv(CacheEnv, "")
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, b, "vm1"); len(got) != 1 || got[0] != "2026-11-27T040000Z" {
		t.Errorf("host b sees %v after the prune, want only the second backup", got)
	}
	if _, err := os.Stat(filepath.Join(b.Root, "backups", "vm1", p1.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("host b's cache still holds the pruned backup: %v", err)
	}
}

// pruneAfterList is a store on which another host prunes a backup right
// after the first listing of backups/: between that listing and the Gets
// that follow it.
type pruneAfterList struct {
	objstore.Store
	prune func()
}

var _ objstore.Store = (*pruneAfterList)(nil)

func (s *pruneAfterList) List(ctx context.Context, prefix string, fn func(objstore.Info) error) error {
	err := s.Store.List(ctx, prefix, fn)
	if prefix == "backups/" && s.prune != nil {
		s.prune()
		s.prune = nil
	}
	return err
}

// A backup another host prunes while this one brings its cache up to
// date is no error: the cache just does not hold it (the race
// TestS3TwoHostsOneRepository's backup during a prune hit).
func TestRemoteCacheBackupPrunedMeanwhile(t *testing.T) {
	ctx := context.Background()
	objs, cacheA := remoteDir(t)
	t.Setenv(CacheEnv, cacheA)
	a, err := CreateStore(ctx, "s3:test", objs, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	p1 := commitBlocks(t, a, "vm1", now, "index one")
	p2 := commitBlocks(t, a, "vm1", now.Add(time.Hour), "index two")
	first, err := a.Find("vm1", p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	racing := &pruneAfterList{Store: objs, prune: func() {
		if _, err := a.Retire(first); err != nil {
			t.Error(err)
		}
	}}
	b := onHost(t, racing, t.TempDir())
	if got := ids(t, b, "vm1"); len(got) != 1 || got[0] != p2.ID {
		t.Errorf("host b sees %v, want only %s", got, p2.ID)
	}
	if _, err := os.Stat(filepath.Join(b.Root, "backups", "vm1", p1.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("host b's cache holds (part of) the pruned backup: %v", err)
	}
}

// A remote repository holds block-mode backups only, and a store that
// holds something else is not made a repository.
func TestRemoteRepositoryRefusals(t *testing.T) {
	ctx := context.Background()
	objs, cache := remoteDir(t)
	t.Setenv(CacheEnv, cache)
	if _, err := OpenStore(ctx, "s3:test", objs); !errors.Is(err, ErrNotRepo) {
		t.Errorf("OpenStore of an empty store: %v, want ErrNotRepo", err)
	}
	if err := objs.Put(ctx, "someone/else", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateStore(ctx, "s3:test", objs, Settings{}); !errors.Is(err, ErrNotRepo) {
		t.Errorf("CreateStore on a store holding objects: %v, want ErrNotRepo", err)
	}
	objs2, _ := remoteDir(t)
	if _, err := CreateStore(ctx, "s3:test2", objs2, Settings{Layout: LayoutSubvolume}); !errors.Is(err, ErrLayout) {
		t.Errorf("CreateStore with a subvolume layout: %v, want ErrLayout", err)
	}
	r, err := CreateStore(ctx, "s3:test2", objs2, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Begin("vol", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(&Info{Mode: ModeFiles}); err == nil {
		t.Error("a file-mode backup was committed to a remote repository")
	}
}

// Backups of different volumes lock a remote repository at once; two of
// one volume, or a backup and the exclusive lock, do not.
func TestRemoteLocks(t *testing.T) {
	ctx := context.Background()
	objs, cache := remoteDir(t)
	t.Setenv(CacheEnv, cache)
	r, err := CreateStore(ctx, "s3:test", objs, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	l1, err := r.LockVolume("vm1")
	if err != nil {
		t.Fatal(err)
	}
	l2, err := r.LockVolume("vm2")
	if err != nil {
		t.Fatalf("backups of two volumes: %v", err)
	}
	if _, err := r.LockVolume("vm1"); !errors.Is(err, ErrLocked) {
		t.Errorf("two backups of vm1: %v, want ErrLocked", err)
	}
	if _, err := r.Lock(); !errors.Is(err, ErrLocked) {
		t.Errorf("exclusive lock during backups: %v, want ErrLocked", err)
	}
	l1.Unlock()
	l2.Unlock()
	l, err := r.Lock()
	if err != nil {
		t.Fatalf("exclusive lock after the backups: %v", err)
	}
	l.Unlock()
}

// An encrypted remote repository opens with its password from the
// environment and no other; the store holds no plaintext marker, and its
// chunk store has keyed ids.
func TestEncryptedRemoteRepository(t *testing.T) {
	ctx := context.Background()
	objs, cache := remoteDir(t)
	t.Setenv(CacheEnv, cache)
	secret := crypt.SecretFromPassword([]byte("correct horse")).WithArgon2(crypt.Argon2Params{Memory: 64, Time: 1, Threads: 1})
	r, err := CreateStore(ctx, "s3:test", objs, Settings{Secret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	commitBlocks(t, r, "vm1", time.Now(), "the index")
	if _, err := objs.Stat(ctx, MarkerFile); !errors.Is(err, objstore.ErrNotExist) {
		t.Errorf("plaintext marker in an encrypted store: %v", err)
	}
	chunks, err := r.Chunks()
	if err != nil {
		t.Fatal(err)
	}
	if _, keyed := chunks.(blockdiff.KeyedIDs).ChunkIDKey(); !keyed {
		t.Error("an encrypted repository's chunk ids are not keyed")
	}
	for env, want := range map[string]error{"correct horse": nil, "wrong": crypt.ErrWrongKey} {
		t.Setenv(crypt.EnvPassword, env)
		r2, err := OpenStore(ctx, "s3:test", objs)
		if !errors.Is(err, want) || want == nil && err != nil {
			t.Fatalf("OpenStore with %q: %v, want %v", env, err, want)
		}
		if want == nil && len(ids(t, r2, "vm1")) != 1 {
			t.Errorf("the encrypted repository lists %v", ids(t, r2, "vm1"))
		}
	}
	os.Unsetenv(crypt.EnvPassword)
	if _, err := OpenStore(ctx, "s3:test", objs); err == nil || !strings.Contains(err.Error(), "LVBACK_PASSWORD") {
		t.Errorf("OpenStore without a secret: %v, want a message naming LVBACK_PASSWORD", err)
	}
}

// A backup's lock waits for the exclusive lock (a sweep) to go, up to
// LVBACK_LOCK_WAIT; another backup of the same volume fails it at once.
func TestLockVolumeWaitsForExclusive(t *testing.T) {
	for _, remote := range []bool{false, true} {
		var r *Repo
		var err error
		if remote {
			objs, cache := remoteDir(t)
			t.Setenv(CacheEnv, cache)
			r, err = CreateStore(context.Background(), "s3:test", objs, Settings{})
		} else {
			r, err = Create(filepath.Join(t.TempDir(), "repo"), Settings{})
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(LockWaitEnv, "0")
		ex, err := r.Lock()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.LockVolume("vm"); !errors.Is(err, ErrLocked) {
			t.Fatalf("remote %v: LockVolume under the exclusive lock without waiting: %v", remote, err)
		}
		t.Setenv(LockWaitEnv, "1m")
		go func() { time.Sleep(1500 * time.Millisecond); ex.Unlock() }()
		start := time.Now()
		l, err := r.LockVolume("vm")
		if err != nil || time.Since(start) < time.Second {
			t.Fatalf("remote %v: LockVolume = %v after %v, want the lock once the exclusive one went", remote, err, time.Since(start))
		}
		start = time.Now()
		if _, err := r.LockVolume("vm"); !errors.Is(err, ErrLocked) || time.Since(start) > 5*time.Second {
			t.Errorf("remote %v: a second backup of vm: %v after %v, want ErrLocked at once", remote, err, time.Since(start))
		}
		l.Unlock()
	}
}

// A remote lock removed while held (another host took it over as stale)
// is reported by Err, so the backup holding it does not commit.
func TestRemoteLockLost(t *testing.T) {
	ctx := context.Background()
	objs, cache := remoteDir(t)
	t.Setenv(CacheEnv, cache)
	t.Setenv(LockStaleEnv, "600ms")
	r, err := CreateStore(ctx, "s3:test", objs, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.LockVolume("vm")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if err := l.Err(); err != nil {
		t.Fatalf("a fresh lock reports %v", err)
	}
	if err := objs.List(ctx, "locks/", func(fi objstore.Info) error { return objs.Delete(ctx, fi.Name) }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for l.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), "lost the repository lock") {
		t.Errorf("Err after the lock object vanished: %v", err)
	}
}

// BeginID in a remote repository refuses an ID the store holds committed
// even when the cache does not know it yet.
func TestRemoteBeginIDAsksTheStore(t *testing.T) {
	ctx := context.Background()
	objs, cacheA := remoteDir(t)
	t.Setenv(CacheEnv, cacheA)
	a, err := CreateStore(ctx, "s3:test", objs, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	b := onHost(t, objs, t.TempDir())
	p := commitBlocks(t, b, "vm", time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC), "index")
	t.Setenv(CacheEnv, cacheA)
	if _, err := a.BeginID("vm", p.ID); !errors.Is(err, ErrBackupExists) {
		t.Errorf("BeginID of an ID another host committed: %v, want ErrBackupExists", err)
	}
}
