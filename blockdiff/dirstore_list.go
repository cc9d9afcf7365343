package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// List implements ChunkStore: it reports the chunks under final names,
// never temporary files or foreign names.
func (s *DirStore) List(ctx context.Context, fn func(ID) error) error {
	return s.eachFile(ctx, func(sub string, e fs.DirEntry) error {
		id, err := ParseID(e.Name())
		if err != nil || !strings.HasPrefix(e.Name(), sub) || !e.Type().IsRegular() {
			return nil
		}
		return fn(id)
	})
}

// RemoveTemp removes the temporary files that killed or failed Puts left
// in the store and returns how many it removed. The caller holds the
// repository lock and runs no Backup into this store meanwhile: a Put in
// progress would fail.
func (s *DirStore) RemoveTemp(ctx context.Context) (int, error) {
	removed := 0
	err := s.eachFile(ctx, func(sub string, e fs.DirEntry) error {
		if !isTempName(e.Name()) {
			return nil
		}
		err := os.Remove(filepath.Join(s.dir, sub, e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("remove temporary chunks: %w", err)
	}
	return removed, nil
}

// eachFile calls fn with every entry of the 256 fan-out directories
// (named 00 to ff; missing ones are skipped), stopping at fn's first
// error.
func (s *DirStore) eachFile(ctx context.Context, fn func(sub string, e fs.DirEntry) error) error {
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return err
		}
		sub := fmt.Sprintf("%02x", i)
		ents, err := os.ReadDir(filepath.Join(s.dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("list chunks: %w", err)
		}
		for _, e := range ents {
			if err := fn(sub, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// isTempName reports whether name is one of writeTemp's temporary names.
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
}
