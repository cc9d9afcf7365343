package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// backup and run never create a repository: a missing path or an empty
// directory (a backup disk that did not mount) is refused with exit 2 and
// a message saying so and how to create one, and nothing is written
// anywhere. init then creates it, and refuses a non-empty directory.
func TestRepositoryIsNeverCreatedImplicitly(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	mkTree(t, src, "f")
	img := filepath.Join(base, "disk.img")
	os.WriteFile(img, []byte(strings.Repeat("x", 8192)), 0o644)
	empty := filepath.Join(base, "mnt", "backup")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, repoPath := range []string{filepath.Join(base, "missing", "repo"), empty} {
		cfg := writeConfig(t, t.TempDir(), "repo = \""+repoPath+"\"\n[[volume]]\nname = \"v\"\npath = \""+src+"\"\n")
		for _, args := range [][]string{
			{"backup", "--repo", repoPath, "--name", "v", "--source", src},
			{"backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img},
			{"run", "--config", cfg},
			{"list", "--repo", repoPath},
			{"verify", "--repo", repoPath},
			{"prune", "--repo", repoPath, "--keep-last", "1"},
		} {
			before := listing(t, base)
			code, out, stderr := run(t, args...)
			if code != exitUsage || !strings.Contains(stderr, "may not be mounted") || !strings.Contains(stderr, "lvback init --repo") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d saying the disk may not be mounted and how to init", args, code, out, stderr, exitUsage)
			}
			if after := listing(t, base); after != before {
				t.Errorf("%v wrote something:\nbefore %s\nafter  %s", args, before, after)
			}
		}
	}
	initRepo(t, empty)
	if code, _, e := run(t, "backup", "--repo", empty, "--name", "v", "--source", src); code != exitOK {
		t.Fatalf("backup after init: %s", e)
	}
	if code, _, e := run(t, "init", "--repo", src); code != exitUsage || !strings.Contains(e, "not empty") {
		t.Errorf("init of a non-empty directory: exit %d %s", code, e)
	}
}

// listing is every path below root, one per line, to compare before and
// after.
func listing(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !strings.HasSuffix(p, "lvback.toml") {
			b.WriteString(p + "\n")
		}
		return nil
	})
	return b.String()
}
