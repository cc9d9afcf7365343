package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A repository inside the source, through a symlinked parent given as
// --repo or through a bind mount inside the source, is bad input: exit 2,
// one line saying so, no backup kept.
func TestBackupRepositoryInsideSourceIsUsageError(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, base, src string) string // returns --repo
	}{
		{"symlinked parent", func(t *testing.T, base, src string) string {
			if err := os.Symlink(src, filepath.Join(base, "lnk")); err != nil {
				t.Fatal(err)
			}
			return initRepo(t, filepath.Join(base, "lnk", "repo"))
		}},
		{"bind mount", func(t *testing.T, base, src string) string {
			if os.Geteuid() != 0 {
				t.Skip("mount --bind needs root")
			}
			repoPath := initRepo(t, filepath.Join(base, "repo"))
			mnt := filepath.Join(src, "mnt")
			if err := os.Mkdir(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mount(repoPath, mnt, "", unix.MS_BIND, ""); err != nil {
				t.Skipf("mount --bind: %v", err)
			}
			t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
			return repoPath
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			src := filepath.Join(base, "src")
			if err := os.MkdirAll(filepath.Join(src, "a"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, "a/f"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			repoPath := tt.setup(t, base, src)
			code, _, stderr := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src, "--quiet")
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "overlap") {
				t.Errorf("exit %d, stderr %q; want %d and one line saying the repository and source overlap", code, stderr, exitUsage)
			}
			if ents, _ := os.ReadDir(filepath.Join(src, "repo", "backups", "v")); len(ents) != 0 {
				t.Errorf("backups kept: %v", ents)
			}
			if ents, _ := os.ReadDir(filepath.Join(base, "repo", "backups", "v")); len(ents) != 0 {
				t.Errorf("backups kept: %v", ents)
			}
		})
	}
}
