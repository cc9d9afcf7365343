package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zeebo/blake3"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/manifest"
)

// 100,000 files in one directory back up, verify, back up again (all
// linked) and restore exactly. As root everything happens on a tmpfs:
// creating and removing 400,000 files on a shared disk takes minutes.
func TestHugeDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: backs up 100,000 files in one directory")
	}
	const n = 100_000
	base := t.TempDir()
	if isRoot() {
		base = testsys.MountTmpfs(t, 2<<30)
	}
	src, repoPath, target := filepath.Join(base, "src"), newRepo(t, filepath.Join(base, "repo")), filepath.Join(base, "restored")
	dir := filepath.Join(src, "many")
	testsys.Must(t, os.Mkdir(src, 0o755))
	testsys.Must(t, os.Mkdir(dir, 0o755))
	for i := range n {
		name := fmt.Sprintf("file-%06d", i)
		testsys.Must(t, os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644))
	}
	res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if res.Info.Files != n || res.Info.Errors != 0 {
		t.Fatalf("backup: %d files, %d errors; want %d, 0", res.Info.Files, res.Info.Errors, n)
	}
	mustVerifyClean(t, repoPath)
	second := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if second.Info.Linked+second.Info.Copied != n {
		t.Fatalf("second backup linked %d and copied %d of %d", second.Info.Linked, second.Info.Copied, n)
	}
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target}); err != nil {
		t.Fatal(err)
	}
	if d := testtree.RsyncDiff(t, src, target); d != "" {
		t.Fatalf("restored tree differs:\n%.2000s", d)
	}
}

// A source file with 70,000 hard links (on tmpfs, which has no link
// limit) backed up into an ext4 repository, whose limit is 65,000: the
// links beyond the limit become copies of the same content, nothing is
// skipped, the backup verifies and the restore gives every name its
// content, on ext4 too.
func TestSeventyThousandHardLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: backs up a file with 70,000 hard links")
	}
	const n = 70_000
	repoFS := testsys.MountImage(t, []string{"mkfs.ext4", "-q", "-F", "-N", "40000"}, 160<<20)
	src := testsys.MountTmpfs(t, 2<<30)
	content := []byte("one inode, many names")
	first := filepath.Join(src, "links", "name-000000")
	writeFile(t, first, string(content))
	for i := 1; i < n; i++ {
		testsys.Must(t, os.Link(first, filepath.Join(src, "links", fmt.Sprintf("name-%06d", i))))
	}
	repoPath := newRepo(t, filepath.Join(repoFS, "repo"))
	res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if res.Info.Files != n || res.Info.Errors != 0 {
		t.Fatalf("backup: %d files, %d errors; want %d, 0", res.Info.Files, res.Info.Errors, n)
	}
	links, files := 0, 0
	want := blake3.Sum256(content)
	for p, e := range manifestEntries(t, filepath.Join(res.Dir, "manifest.zst")) {
		if e.Type != manifest.TypeFile {
			continue
		}
		files++
		if e.LinkTo != "" {
			links++
		}
		if e.Hash != want || e.Size != int64(len(content)) {
			t.Fatalf("%s recorded as %x, %d bytes", p, e.Hash[:8], e.Size)
		}
	}
	if files != n || links == 0 || links == n-1 {
		t.Fatalf("manifest: %d files, %d recorded as hard links; want %d files and the link limit hit", files, links, n)
	}
	t.Logf("%d names recorded as hard links, %d copies past the link limit", links, n-1-links)
	mustVerifyClean(t, repoPath)
	second := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if second.Info.Errors != 0 {
		t.Fatalf("second backup: %+v", second.Info.ErrorSamples)
	}
	mustVerifyClean(t, repoPath)

	target := filepath.Join(repoFS, "restored")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target}); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(target, "links"))
	testsys.Must(t, err)
	if len(ents) != n {
		t.Fatalf("restored %d names, want %d", len(ents), n)
	}
	for _, e := range ents {
		got, err := os.ReadFile(filepath.Join(target, "links", e.Name()))
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("restored %s: %q, %v", e.Name(), got, err)
		}
	}
}
