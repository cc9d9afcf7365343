// Package btrfstest helps tests clean up btrfs subvolumes.
package btrfstest

import (
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvback/lvback/internal/btrfs"
)

// DeleteSubvolumesAtCleanup makes t's cleanup delete every btrfs
// subvolume below dir (deepest first) before the temporary directories
// are removed: a read-only subvolume, as the subvolume layout makes each
// backup's tree, cannot be emptied file by file. Call it after the
// t.TempDir that holds dir, so that it runs first.
func DeleteSubvolumesAtCleanup(t testing.TB, dir string) {
	t.Cleanup(func() {
		var subvols []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != dir {
				if ok, _ := btrfs.IsSubvolume(p); ok {
					subvols = append(subvols, p)
				}
			}
			return nil
		})
		slices.Reverse(subvols)
		for _, s := range subvols {
			if err := btrfs.Delete(s); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
}
