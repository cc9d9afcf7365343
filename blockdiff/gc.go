package blockdiff

import (
	"context"
	"fmt"
)

// GC deletes every chunk in store for which live returns false and
// returns how many it deleted. The caller holds the repository lock, so
// that no Backup runs meanwhile, and live marks every chunk of every index
// that must survive (complete, partial and in-progress backups of every
// volume). It lists the store first and deletes afterwards, so live may be
// slow but must not change. Deleted chunks are gone even when GC fails
// later.
func GC(ctx context.Context, store ChunkStore, live func(ID) bool) (removed int, err error) {
	var dead []ID
	err = store.List(ctx, func(id ID) error {
		if !live(id) {
			dead = append(dead, id)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("gc: %w", err)
	}
	for _, id := range dead {
		if err := store.Delete(ctx, id); err != nil {
			return removed, fmt.Errorf("gc: %w", err)
		}
		removed++
	}
	return removed, nil
}
