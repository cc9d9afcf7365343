package engine

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/manifest"
)

func TestRestoreSubpathAndRefusals(t *testing.T) {
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "a/b/c"), "c")
	writeFile(t, filepath.Join(src, "a/d"), "d")
	writeFile(t, filepath.Join(src, "x"), "x")
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})

	target := filepath.Join(t.TempDir(), "t")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target, Path: "a/b"}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(target, "a/b/c")); got != "c" {
		t.Fatalf("a/b/c = %q", got)
	}
	for _, p := range []string{"a/d", "x"} {
		if _, err := os.Lstat(filepath.Join(target, p)); err == nil {
			t.Errorf("%s restored outside --path", p)
		}
	}
	_, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty target: %v", err)
	}
}

// A symlink planted in the target must never be written through, even
// with --force.
func TestRestoreDoesNotFollowPlantedSymlink(t *testing.T) {
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "sub/file"), "payload")
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	outside := t.TempDir()
	target := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(target, "sub")); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target, Force: true}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("restore wrote through the planted symlink: %v", ents)
	}
	if fi, err := os.Lstat(filepath.Join(target, "sub")); err != nil || !fi.IsDir() {
		t.Fatalf("sub is not a real directory after restore: %v", err)
	}
	if got := readFile(t, filepath.Join(target, "sub/file")); got != "payload" {
		t.Fatalf("sub/file = %q", got)
	}
}

// Manifests that name paths outside the target are refused before
// anything is written.
func TestRestoreRefusesEscapingManifest(t *testing.T) {
	outside := t.TempDir()
	root := &manifest.Entry{Path: "", Type: manifest.TypeDir, Mode: 0o755}
	tests := []struct {
		name    string
		entries []*manifest.Entry
	}{
		{"dot-dot", []*manifest.Entry{root, {Path: "../escape", Type: manifest.TypeFile}}},
		{"absolute", []*manifest.Entry{root, {Path: "/etc/escape", Type: manifest.TypeFile}}},
		{"inner dot-dot", []*manifest.Entry{root, {Path: "a/../../escape", Type: manifest.TypeFile}}},
		{"through a restored symlink", []*manifest.Entry{root,
			{Path: "a", Type: manifest.TypeSymlink, Target: outside},
			{Path: "a/escape", Type: manifest.TypeFile}}},
		{"hard link out", []*manifest.Entry{root, {Path: "h", Type: manifest.TypeFile, LinkTo: "../../etc/passwd"}}},
		{"no root first", []*manifest.Entry{{Path: "x", Type: manifest.TypeFile}}},
		{"out of order", []*manifest.Entry{root, {Path: "b", Type: manifest.TypeDir}, {Path: "a", Type: manifest.TypeDir}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := t.TempDir()
			root, err := openRoot(target)
			if err != nil {
				t.Fatal(err)
			}
			defer root.close()
			tree, err := fileops.OpenTree(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer tree.Close()
			rs := &restorer{root: root, tree: tree, log: discardLog(), dirs: map[string]bool{}}
			i := 0
			next := func() (*manifest.Entry, error) {
				if i == len(tt.entries) {
					return nil, io.EOF
				}
				i++
				return tt.entries[i-1], nil
			}
			if err := rs.run(context.Background(), next, 2); err == nil || !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("wrote outside the target: %v", ents)
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(target), "escape")); err == nil {
				t.Fatal("wrote beside the target")
			}
		})
	}
}

func TestRestoreHardLinksAndSparse(t *testing.T) {
	src, repoPath := dirs(t)
	testtree.Create(t, src, testtree.EveryKind(t))
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	target := filepath.Join(t.TempDir(), "t")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", ID: "latest", Target: target, Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	if d := testtree.RsyncDiff(t, src, target); d != "" {
		t.Fatalf("restored tree differs:\n%s", d)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
