package mount

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/repo"
)

// blockBackup makes a repository of chunkSize chunks at a new directory,
// backs up the image file img in block mode as name and returns the
// repository path and the backup.
func blockBackup(t *testing.T, img, name string, chunkSize int) (string, *repo.Backup) {
	t.Helper()
	repoPath := filepath.Join(t.TempDir(), "repo")
	_, err := engine.Init(repoPath, repo.Settings{BlockChunkSize: chunkSize})
	testsys.Must(t, err)
	_, err = engine.BackupBlocks(context.Background(), engine.BlockOptions{
		BackupOptions: engine.BackupOptions{Repo: repoPath, Name: name, Source: img}})
	testsys.Must(t, err)
	return repoPath, latest(t, repoPath, name)
}

// latest returns the newest backup of name.
func latest(t *testing.T, repoPath, name string) *repo.Backup {
	t.Helper()
	r, err := repo.Open(repoPath)
	testsys.Must(t, err)
	b, err := r.Latest(name)
	testsys.Must(t, err)
	return b
}

// openTestImage opens backup b's image over the repository's chunk store.
func openTestImage(t *testing.T, repoPath string, b *repo.Backup, cache int64) *Image {
	t.Helper()
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	testsys.Must(t, err)
	store, err := blockdiff.OpenDirStore(filepath.Join(repoPath, "chunks"))
	testsys.Must(t, err)
	im, err := OpenImage(idx, store, ImageOptions{CacheBytes: cache})
	testsys.Must(t, err)
	t.Cleanup(im.Close)
	return im
}

// chunkPath returns where the repository's chunk store keeps id.
func chunkPath(repoPath string, id blockdiff.ID) string {
	h := id.String()
	return filepath.Join(repoPath, "chunks", h[:2], h)
}

// corruptChunk flips one byte in the stored copy of id.
func corruptChunk(t *testing.T, repoPath string, id blockdiff.ID) {
	t.Helper()
	p := chunkPath(repoPath, id)
	data, err := os.ReadFile(p)
	testsys.Must(t, err)
	data[len(data)/2] ^= 0xff
	testsys.Must(t, os.Chmod(p, 0o644))
	testsys.Must(t, os.WriteFile(p, data, 0o644))
}
