package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/retention"
)

// makeImage writes a sparse 64 MiB image with random data in a few places.
func makeImage(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3<<20)
	for _, off := range []int64{0, 20 << 20, 50 << 20} {
		rand.Read(buf)
		if _, err := f.WriteAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
}

func sha(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func day(n int) func() time.Time {
	return func() time.Time { return time.Date(2026, 11, n, 3, 0, 0, 0, time.UTC) }
}

// Block mode end to end: a second backup stores only the changed chunk,
// both restore bit-identical and sparse, verify passes and finds damage,
// and prune collects exactly the chunks no backup uses any more.
func TestBlockModeLifecycle(t *testing.T) {
	dir := t.TempDir()
	img, repoPath := filepath.Join(dir, "disk.img"), newRepo(t, filepath.Join(dir, "repo"))
	makeImage(t, img)
	want1 := sha(t, img)
	first, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(20)}})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(img, os.O_WRONLY, 0)
	f.WriteAt([]byte("changed!"), 20<<20+100)
	f.Close()
	want2 := sha(t, img)
	second, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(21)}})
	if err != nil {
		t.Fatal(err)
	}
	if second.Info.Copied != 1 || second.Info.AddedBytes >= first.Info.AddedBytes/2 {
		t.Fatalf("second backup stored %d chunks, %d bytes (first: %d bytes)", second.Info.Copied, second.Info.AddedBytes, first.Info.AddedBytes)
	}
	for id, want := range map[string][32]byte{first.Info.ID: want1, second.Info.ID: want2} {
		out := filepath.Join(dir, "restored-"+id)
		if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vm", ID: id, Target: out}); err != nil {
			t.Fatalf("restore %s: %v", id, err)
		}
		if sha(t, out) != want {
			t.Fatalf("restore of %s is not bit-identical", id)
		}
		var st syscallStat
		if blocks := statBlocks(t, out, &st); blocks*512 > 16<<20 {
			t.Fatalf("restored image uses %d bytes: holes were filled", blocks*512)
		}
	}
	mustVerifyClean(t, repoPath)

	res, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ChunksRemoved != 1 {
		t.Fatalf("prune removed %d chunks, want the one only the first backup used", res.ChunksRemoved)
	}
	mustVerifyClean(t, repoPath)
	out := filepath.Join(dir, "after-prune")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vm", Target: out}); err != nil || sha(t, out) != want2 {
		t.Fatalf("restore after prune: %v", err)
	}

	chunk := anyChunk(t, repoPath)
	flipByte(t, chunk, 10)
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath})
	if !errors.Is(err, ErrVerifyFailed) || !strings.Contains(rep.Problems[0].Path, "chunk") {
		t.Fatalf("verify after corrupting %s: %v %+v", chunk, err, rep)
	}
	os.Remove(chunk)
	rep, err = Verify(context.Background(), VerifyOptions{Repo: repoPath, ReadFraction: 0.01})
	if !errors.Is(err, ErrVerifyFailed) || rep.Problems[0].Kind != "missing" {
		t.Fatalf("verify with a missing chunk: %v %+v", err, rep)
	}
}

// anyChunk returns the path of one stored chunk.
func anyChunk(t *testing.T, repoPath string) string {
	t.Helper()
	var found string
	filepath.Walk(filepath.Join(repoPath, "chunks"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && found == "" && !strings.HasPrefix(fi.Name(), ".") {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatal("no chunk stored")
	}
	return found
}

func TestBlockModeRefusesDirectorySource(t *testing.T) {
	_, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: filepath.Join(t.TempDir(), "r"), Name: "vm", Source: t.TempDir()}})
	if err == nil || !strings.Contains(err.Error(), "neither a disk image") {
		t.Fatalf("err = %v", err)
	}
}

// A prune that dies after taking a block backup out of the listing but
// before sweeping chunks loses nothing the remaining backups need; the
// next prune removes the rest.
func TestBlockPruneInterruptedBeforeSweep(t *testing.T) {
	dir := t.TempDir()
	img, repoPath := filepath.Join(dir, "disk.img"), newRepo(t, filepath.Join(dir, "repo"))
	makeImage(t, img)
	for d := 20; d < 23; d++ {
		f, _ := os.OpenFile(img, os.O_WRONLY, 0)
		f.WriteAt([]byte{byte(d)}, 0) // the first chunk differs every day
		f.Close()
		if _, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(d)}}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := repoOpen(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := r.Backups("vm")
	if _, err := r.Retire(&bs[0]); err != nil { // the state a kill right after the rename leaves
		t.Fatal(err)
	}
	mustVerifyClean(t, repoPath)
	res, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Finished) != 1 || res.ChunksRemoved == 0 {
		t.Fatalf("next prune finished %v and removed %d chunks", res.Finished, res.ChunksRemoved)
	}
	mustVerifyClean(t, repoPath)
	want := sha(t, img)
	out := filepath.Join(dir, "latest.img")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vm", Target: out}); err != nil || sha(t, out) != want {
		t.Fatalf("restore of the newest backup after the prunes: %v", err)
	}
}

// The repository's default chunk size is the one package blockdiff
// measured and documents.
func TestDefaultChunkSizesAgree(t *testing.T) {
	if repo.DefaultBlockChunkSize != blockdiff.DefaultChunkSize {
		t.Errorf("repo.DefaultBlockChunkSize %d, blockdiff.DefaultChunkSize %d", repo.DefaultBlockChunkSize, blockdiff.DefaultChunkSize)
	}
}
