package blockdiff

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/testsys"
)

// killChildEnv makes TestBackupKilled run the backup to be killed (in a
// child process) instead of the test.
const killChildEnv = "BLOCKDIFF_TEST_KILL_CHILD"

// slowStore slows every Put down, so the backup lasts long enough to be
// killed midway.
type slowStore struct {
	ChunkStore
	delay time.Duration
}

func (s slowStore) Put(ctx context.Context, id ID, data []byte) error {
	time.Sleep(s.delay)
	return s.ChunkStore.Put(ctx, id, data)
}

// TestBackupKilled SIGKILLs a backup while it writes chunks: every chunk
// under a final name is whole (none of the killed run's), no index exists,
// the chunks of an earlier backup are intact, the next backup succeeds and
// RemoveTemp clears what the kill left.
func TestBackupKilled(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		store, err := OpenDirStore(filepath.Join(dir, "chunks"))
		testsys.Must(t, err)
		_, _, err = Backup(context.Background(), filepath.Join(dir, "src"), slowStore{store, 30 * time.Millisecond},
			filepath.Join(dir, "killed.index"), Options{})
		t.Fatalf("backup was not killed (error %v)", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 64*mib, span{0, 64 * mib, "random", 1})
	earlierSrc := filepath.Join(dir, "earlier")
	writeImage(t, earlierSrc, 2*mib, span{0, 2 * mib, "text", 3})
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	testsys.Must(t, err)
	earlier, _, err := Backup(ctx, earlierSrc, store, filepath.Join(dir, "earlier.index"), Options{ChunkSize: 64 * kib})
	testsys.Must(t, err)
	before, _ := chunkFiles(t, store.Dir())

	killWhileWriting(t, dir, 3)

	if _, err := os.Stat(filepath.Join(dir, "killed.index")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("killed backup left an index: %v", err)
	}
	final, temp := chunkFiles(t, store.Dir())
	t.Logf("after the kill: %d chunks under final names (%d before), %d temporary files", len(final), len(before), len(temp))
	checkWholeChunks(t, final)
	if probs, err := Verify(ctx, earlier, store, 1); err != nil || len(probs) != 0 {
		t.Errorf("earlier backup damaged: %v %v", probs, err)
	}
	if ids := listIDs(t, store); len(ids) != len(final) {
		t.Errorf("List gives %d ids for %d chunk files", len(ids), len(final))
	}

	// The next backup, with a fresh store value as a new process has.
	store2, err := OpenDirStore(store.Dir())
	testsys.Must(t, err)
	idx, st, err := Backup(ctx, src, store2, filepath.Join(dir, "next.index"), Options{})
	testsys.Must(t, err)
	if len(final) != len(before) || st.ReusedChunks != 0 {
		t.Errorf("killed backup named %d chunks, next one reused %d: chunks become visible only when durable, at the end", len(final)-len(before), st.ReusedChunks)
	}
	restoreAndCompare(t, idx, store2, src)
	if n, err := store2.RemoveTemp(ctx); err != nil || n != len(temp) {
		t.Errorf("RemoveTemp removed %d, %v; want the %d left by the kill", n, err, len(temp))
	}
	if _, temp := chunkFiles(t, store.Dir()); len(temp) != 0 {
		t.Errorf("temporary files left: %v", temp)
	}
}

// checkWholeChunks fails t unless every chunk file holds a whole chunk of
// its id: the killed backup's (incompressible, DefaultChunkSize bytes) or
// the earlier backup's (compressed, 64 KiB).
func checkWholeChunks(t *testing.T, files []string) {
	t.Helper()
	c, err := newCodec(1, newMemStore())
	testsys.Must(t, err)
	defer c.close()
	for _, p := range files {
		data, err := os.ReadFile(p)
		testsys.Must(t, err)
		n := DefaultChunkSize
		if len(data) > 0 && data[0] == flagZstd {
			n = 64 * kib
		}
		if _, err := c.decode(make([]byte, n), data, n, mustParseID(t, filepath.Base(p))); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// killWhileWriting runs the child backup of dir and SIGKILLs it as soon
// as the store holds at least n temporary files (chunks written, not yet
// durable or named).
func killWhileWriting(t *testing.T, dir string, n int) {
	t.Helper()
	exe, err := os.Executable()
	testsys.Must(t, err)
	cmd := exec.Command(exe, "-test.run=^TestBackupKilled$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	testsys.Must(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("child ended before it was killed: %v", err)
		default:
		}
		if _, temp := chunkFiles(t, filepath.Join(dir, "chunks")); len(temp) >= n {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("child wrote no chunks in 30 s")
		}
		time.Sleep(500 * time.Microsecond)
	}
	testsys.Must(t, cmd.Process.Kill()) // SIGKILL
	<-exited
}

func mustParseID(t *testing.T, s string) ID {
	t.Helper()
	id, err := ParseID(s)
	testsys.Must(t, err)
	return id
}
