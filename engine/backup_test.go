package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/xattr"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/repo"
)

// A tree with every kind of entry comes back identical, checked by rsync
// as an independent oracle, both in the backup tree and after restore.
func TestRoundTripEveryKind(t *testing.T) {
	src, repoPath := dirs(t)
	testtree.Create(t, src, testtree.EveryKind(t))
	res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if d := testtree.RsyncDiff(t, src, res.Tree); d != "" {
		t.Fatalf("backup tree differs from source:\n%s", d)
	}
	assertSparseKept(t, src, res.Tree)
	mustVerifyClean(t, repoPath)

	target := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if d := testtree.RsyncDiff(t, src, target); d != "" {
		t.Fatalf("restored tree differs from source:\n%s", d)
	}
	assertSparseKept(t, src, target)
}

// assertSparseKept fails if a file in got uses clearly more disk blocks
// than the same file in want (holes filled in).
func assertSparseKept(t *testing.T, want, got string) {
	t.Helper()
	sparse := 0
	filepath.Walk(want, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(want, p)
		wb, gb := testtree.Blocks(t, p), testtree.Blocks(t, filepath.Join(got, rel))
		if wb*512 < fi.Size()/2 {
			sparse++
		}
		if gb > wb+64 { // allow for file system allocation differences
			t.Errorf("%s: %d blocks, source has %d: holes were filled", rel, gb, wb)
		}
		return nil
	})
	if sparse == 0 {
		t.Fatal("test tree has no sparse file: the check proves nothing")
	}
}

// change is one modification of the source between two backups, and
// whether the changed path must get a new inode.
type change struct {
	name string
	path string
	do   func(t *testing.T, src string)
	root bool
}

func incrementalChanges() []change {
	return []change{
		{"modify", "modified", func(t *testing.T, s string) { writeFile(t, filepath.Join(s, "modified"), "new content!") }, false},
		{"chmod", "chmodded", func(t *testing.T, s string) { os.Chmod(filepath.Join(s, "chmodded"), 0o600) }, false},
		{"chown", "chowned", func(t *testing.T, s string) { os.Lchown(filepath.Join(s, "chowned"), 4321, 8765) }, true},
		{"xattr", "xattred", func(t *testing.T, s string) {
			if err := xattr.Set(filepath.Join(s, "xattred"), "user.tag", []byte("v2")); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"mtime", "touched", func(t *testing.T, s string) {
			os.Chtimes(filepath.Join(s, "touched"), time.Now(), time.Unix(1700000000, 42))
		}, false},
		{"same-size content change keeping mtime", "sneaky", func(t *testing.T, s string) {
			p := filepath.Join(s, "sneaky")
			fi, _ := os.Stat(p)
			writeFile(t, p, "CONTENT OF SNEAKY") // same size as before
			os.Chtimes(p, fi.ModTime(), fi.ModTime())
		}, false},
		{"add", "dir/added", func(t *testing.T, s string) { writeFile(t, filepath.Join(s, "dir/added"), "added") }, false},
		{"rename", "dir/renamed", func(t *testing.T, s string) {
			os.Rename(filepath.Join(s, "torename"), filepath.Join(s, "dir/renamed"))
		}, false},
		{"delete", "", func(t *testing.T, s string) { os.Remove(filepath.Join(s, "deleted")) }, false},
	}
}

func TestIncremental(t *testing.T) {
	for _, checksum := range []bool{false, true} {
		t.Run(map[bool]string{false: "metadata", true: "checksum"}[checksum], func(t *testing.T) {
			testIncremental(t, checksum)
		})
	}
}

func testIncremental(t *testing.T, checksum bool) {
	src, repoPath := dirs(t)
	for _, n := range []string{"unchanged", "modified", "chmodded", "chowned", "xattred", "touched", "sneaky", "torename", "deleted", "dir/keep"} {
		writeFile(t, filepath.Join(src, n), "content of "+n)
	}
	if err := xattr.Set(filepath.Join(src, "xattred"), "user.tag", []byte("v1")); err != nil {
		t.Skipf("xattrs not supported on the temp dir: %v", err)
	}
	old := time.Now().Add(-time.Hour) // outside the mtime race window
	filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Checksum: checksum}
	first := mustBackup(t, o)
	ref := filepath.Join(t.TempDir(), "ref")
	testtree.Copy(t, src, ref)

	for _, c := range incrementalChanges() {
		if c.root && !isRoot() {
			t.Logf("not root: skipping the %s change", c.name)
			continue
		}
		c.do(t, src)
	}
	second := mustBackup(t, o)
	if d := testtree.RsyncDiff(t, src, second.Tree); d != "" {
		t.Fatalf("second backup differs from source:\n%s", d)
	}
	if d := testtree.RsyncDiff(t, ref, first.Tree); d != "" {
		t.Fatalf("first backup was modified by the second run:\n%s", d)
	}
	for _, n := range []string{"unchanged", "dir/keep"} {
		if !sharedWithPrevious(t, filepath.Join(first.Tree, n), filepath.Join(second.Tree, n)) {
			t.Errorf("%s unchanged but not shared with the previous backup", n)
		}
	}
	for _, c := range incrementalChanges() {
		if c.path == "" || c.path == "dir/added" || (c.root && !isRoot()) {
			continue
		}
		prevPath := filepath.Join(first.Tree, c.path)
		if c.name == "rename" {
			prevPath = filepath.Join(first.Tree, "torename")
		}
		if testtree.SameInode(t, prevPath, filepath.Join(second.Tree, c.path)) {
			t.Errorf("%s (%s) shares its inode with the previous backup", c.path, c.name)
		}
	}
	if second.Info.Linked != 2 {
		t.Errorf("linked = %d, want 2", second.Info.Linked)
	}
	mustVerifyClean(t, repoPath)
}

func TestSourceErrorsChangeNothing(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	writeFile(t, filepath.Join(src, "f"), "x")
	tests := []struct {
		name, source, repo, want string
	}{
		{"missing source", filepath.Join(base, "nope"), filepath.Join(base, "r1"), "no such file"},
		{"source is a file", filepath.Join(src, "f"), filepath.Join(base, "r2"), "not a directory"},
		{"repository inside the source", src, filepath.Join(src, "repo"), "overlap"},
		{"source inside the repository", src, base, "overlap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadDir(base)
			_, err := Backup(context.Background(), BackupOptions{Repo: tt.repo, Name: "vol", Source: tt.source})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tt.want)
			}
			after, _ := os.ReadDir(base)
			if len(after) != len(before) {
				t.Fatalf("something was created: %d entries before, %d after", len(before), len(after))
			}
			if _, err := os.Stat(filepath.Join(src, "repo")); err == nil {
				t.Fatal("repository created inside the source")
			}
		})
	}
}

func TestRefusesForeignDirectoryAsRepo(t *testing.T) {
	src, _ := dirs(t)
	writeFile(t, filepath.Join(src, "f"), "x")
	foreign := t.TempDir()
	writeFile(t, filepath.Join(foreign, "data"), "precious")
	_, err := Backup(context.Background(), BackupOptions{Repo: foreign, Name: "vol", Source: src})
	if !errors.Is(err, repo.ErrNotRepo) {
		t.Fatalf("err = %v, want ErrNotRepo", err)
	}
	ents, _ := os.ReadDir(foreign)
	if len(ents) != 1 {
		t.Fatalf("foreign directory was modified: %v", ents)
	}
}

func TestTwoRunsInOneSecond(t *testing.T) {
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "f"), "x")
	now := func() time.Time { return time.Date(2026, 11, 25, 3, 15, 0, 0, time.UTC) }
	a := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src, Now: now})
	b := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src, Now: now})
	if a.Info.ID != "2026-11-25T031500Z" || b.Info.ID != "2026-11-25T031500Z-2" {
		t.Fatalf("ids %s, %s", a.Info.ID, b.Info.ID)
	}
}

// On a file system with reflinks, a metadata-only change gets a new inode
// that shares the previous backup's extents; the old inode keeps its mode.
func TestMetadataChangeUsesReflink(t *testing.T) {
	mnt := testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, 256<<20)
	src, repoPath := filepath.Join(mnt, "src"), newRepo(t, filepath.Join(mnt, "repo"))
	writeFile(t, filepath.Join(src, "f"), strings.Repeat("data", 100000))
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(src, "f"), old, old)
	first := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if err := os.Chmod(filepath.Join(src, "f"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if second.Info.Reflinked != 1 || second.Info.Copied != 0 || second.Info.AddedBytes != 0 {
		t.Fatalf("reflinked %d copied %d added %d, want one reflink and nothing written",
			second.Info.Reflinked, second.Info.Copied, second.Info.AddedBytes)
	}
	if testtree.SameInode(t, filepath.Join(first.Tree, "f"), filepath.Join(second.Tree, "f")) {
		t.Fatal("the metadata change was applied to the previous backup's inode")
	}
	if fi, _ := os.Stat(filepath.Join(first.Tree, "f")); fi.Mode().Perm() != 0o644 {
		t.Fatalf("previous backup's file mode changed to %v", fi.Mode())
	}
	if d := testtree.RsyncDiff(t, src, second.Tree); d != "" {
		t.Fatalf("differs:\n%s", d)
	}
	mustVerifyClean(t, repoPath)
}

// A BeforeCommit failure (e.g. an overflowed snapshot) leaves no backup.
func TestBeforeCommitFailureKeepsNothing(t *testing.T) {
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "f"), "x")
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	overflow := errors.New("snapshot overflowed")
	_, err := Backup(context.Background(), BackupOptions{Repo: repoPath, Name: "vol", Source: src,
		BeforeCommit: func() error { return overflow }})
	if !errors.Is(err, overflow) {
		t.Fatalf("err = %v", err)
	}
	if bs := backupsOf(t, repoPath, "vol"); len(bs) != 1 || !bs[0].Complete {
		t.Fatalf("backups after a refused commit: %+v", bs)
	}
}
