package engine

import (
	"fmt"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
)

// Init creates a repository at path whose block-mode backups use
// chunkSize-byte chunks (0: the default, 2 MiB). It is the only way a
// repository is made: backups refuse a path without one.
func Init(path string, chunkSize int) (*repo.Repo, error) {
	if chunkSize != 0 {
		if err := blockdiff.CheckChunkSize(chunkSize); err != nil {
			return nil, fmt.Errorf("init %s: %w", path, err)
		}
	}
	return repo.Create(path, repo.Settings{BlockChunkSize: chunkSize})
}
