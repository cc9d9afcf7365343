package engine

import (
	"fmt"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
)

// Init creates a repository at path with settings s: its block-mode
// backups use s.BlockChunkSize-byte chunks (0: the default, 2 MiB), its
// file trees s.Layout (see repo.Settings). It is the only way a
// repository is made: backups refuse a path without one.
func Init(path string, s repo.Settings) (*repo.Repo, error) {
	if s.BlockChunkSize != 0 {
		if err := blockdiff.CheckChunkSize(s.BlockChunkSize); err != nil {
			return nil, fmt.Errorf("init %s: %w", path, err)
		}
	}
	return repo.Create(path, s)
}
