package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/repo"
)

// A repository inside the source is refused however the path to it is
// spelled or mounted, as ErrOverlap in one line naming where it is, and no
// backup is kept: up front for a symlinked parent, by the walk for a bind
// mount (the same file system, so the walk descends into it).
func TestBackupRefusesRepositoryReachedFromSource(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, base, src string) (repoPath, metAt string)
	}{
		{"symlinked parent, new repository", func(t *testing.T, base, src string) (string, string) {
			testsys.Must(t, os.Symlink(src, filepath.Join(base, "lnk")))
			return filepath.Join(base, "lnk", "repo"), ""
		}},
		{"symlinked parent, existing repository", func(t *testing.T, base, src string) (string, string) {
			testsys.Must(t, os.Symlink(src, filepath.Join(base, "lnk")))
			if _, err := Init(filepath.Join(src, "repo"), repo.Settings{}); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(base, "lnk", "repo"), ""
		}},
		{"bind mount", func(t *testing.T, base, src string) (string, string) {
			if !isRoot() {
				t.Skip("mount --bind needs root")
			}
			repoPath := filepath.Join(base, "repo")
			if _, err := Init(repoPath, repo.Settings{}); err != nil {
				t.Fatal(err)
			}
			mnt := filepath.Join(src, "mnt")
			testsys.Must(t, os.Mkdir(mnt, 0o755))
			if err := unix.Mount(repoPath, mnt, "", unix.MS_BIND, ""); err != nil {
				t.Skipf("mount --bind: %v", err)
			}
			t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
			return repoPath, mnt
		}},
		{"bind mount of the repository's parent, deeper in the source", func(t *testing.T, base, src string) (string, string) {
			if !isRoot() {
				t.Skip("mount --bind needs root")
			}
			repoPath := filepath.Join(base, "outer", "repo")
			if _, err := Init(repoPath, repo.Settings{}); err != nil {
				t.Fatal(err)
			}
			mnt := filepath.Join(src, "a", "deep")
			testsys.Must(t, os.MkdirAll(mnt, 0o755))
			if err := unix.Mount(filepath.Join(base, "outer"), mnt, "", unix.MS_BIND, ""); err != nil {
				t.Skipf("mount --bind: %v", err)
			}
			t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
			return repoPath, filepath.Join(mnt, "repo")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			src := filepath.Join(base, "src")
			writeFile(t, filepath.Join(src, "a/f"), "data")
			writeFile(t, filepath.Join(src, "z/f"), "data") // walked after the bind mount
			repoPath, metAt := tt.setup(t, base, src)
			_, err := Backup(context.Background(), BackupOptions{Repo: repoPath, Name: "vol", Source: src})
			if !errors.Is(err, ErrOverlap) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), metAt) {
				t.Fatalf("err = %v, want ErrOverlap in one line naming %q", err, metAt)
			}
			real, _ := filepath.EvalSymlinks(repoPath)
			if ents, err := os.ReadDir(filepath.Join(real, "backups", "vol")); !os.IsNotExist(err) {
				t.Errorf("the backup wrote into the repository before refusing: %v %v", ents, err)
			}
			if _, err := os.Stat(filepath.Join(src, "repo")); strings.HasPrefix(tt.name, "symlinked parent, new") && err == nil {
				t.Error("a repository was created inside the source")
			}
		})
	}
}
