package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvback/lvback/internal/durable"
)

// Retire takes a complete backup out of the repository in one atomic step:
// it renames ID to ID.deleting (and fsyncs the parent), so no crash can
// leave it half-deleted yet listed as complete. The caller holds the lock
// and then removes the returned directory. A remote repository's backup
// is deleted from the store first (its info, then its index).
func (r *Repo) Retire(b *Backup) (string, error) {
	if !b.Complete || b.Partial {
		return "", fmt.Errorf("refusing to retire %s/%s: not a complete backup", b.Name, b.ID)
	}
	want := filepath.Join(r.Root, backupsDir, b.Name, b.ID)
	if b.Dir != want {
		return "", fmt.Errorf("refusing to retire %s: not inside the repository", b.Dir)
	}
	if r.Remote != nil {
		ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
		defer cancel()
		if err := r.unpublish(ctx, b.Name, b.ID); err != nil {
			return "", err
		}
	}
	dst := want + deletingExt
	if err := durable.Rename(want, dst); err != nil {
		return "", fmt.Errorf("retire %s/%s: %w", b.Name, b.ID, err)
	}
	return dst, nil
}

// Retired lists the ID.deleting directories of name: backups a prune took
// out but had not finished removing. Only names lvback gave are listed.
func (r *Repo) Retired(name string) ([]string, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	dir := filepath.Join(r.Root, backupsDir, name)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), deletingExt)
		if _, _, valid := parseID(id); ok && valid && e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
