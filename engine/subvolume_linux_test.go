package engine

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/btrfs"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/retention"
)

// btrfsRepo mounts a fresh btrfs and creates a subvolume-layout
// repository on it; the source directory lives there too.
func btrfsRepo(t *testing.T) (src, repoPath string) {
	t.Helper()
	testsys.RequireRoot(t)
	testsys.RequireTools(t, "mkfs.btrfs")
	mnt := testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, 512<<20)
	src, repoPath = filepath.Join(mnt, "src"), filepath.Join(mnt, "repo")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := Init(repoPath, repo.Settings{Layout: repo.LayoutSubvolume})
	if err != nil {
		t.Fatal(err)
	}
	if r.Layout != repo.LayoutSubvolume {
		t.Fatalf("layout %q", r.Layout)
	}
	return src, repoPath
}

// A subvolume-layout backup is a read-only subvolume that holds the
// source; the next one, a snapshot of it with the changes applied, holds
// the changed source (content, a chmod, an xattr, deletions, type
// changes, hard links, symlinks), and the first is untouched. Prune
// deletes the subvolume.
func TestSubvolumeLayout(t *testing.T) {
	src, repoPath := btrfsRepo(t)
	testtree.Create(t, src, testtree.Random(7, 300))
	writeFile(t, filepath.Join(src, "etc/fstab"), "old fstab\n")
	writeFile(t, filepath.Join(src, "meta.txt"), "same content\n")
	writeFile(t, filepath.Join(src, "gone/deep/file"), "to be deleted\n")
	writeFile(t, filepath.Join(src, "becomes-dir"), "a file first\n")
	writeFile(t, filepath.Join(src, "becomes-file/inner"), "a dir first\n")
	if err := os.Symlink("etc/fstab", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Log: discardLog()}
	first := mustBackup(t, o)
	old := filepath.Join(t.TempDir(), "old")
	testtree.Copy(t, src, old)
	checkSealed(t, first.Tree)

	// Changes of every kind.
	writeFile(t, filepath.Join(src, "etc/fstab"), "new fstab, longer\n")
	must(t, os.Chmod(filepath.Join(src, "meta.txt"), 0o600))
	must(t, syscall.Setxattr(filepath.Join(src, "meta.txt"), "user.note", []byte("v2"), 0))
	must(t, os.RemoveAll(filepath.Join(src, "gone")))
	must(t, os.Remove(filepath.Join(src, "becomes-dir")))
	writeFile(t, filepath.Join(src, "becomes-dir/child"), "now a dir\n")
	must(t, os.RemoveAll(filepath.Join(src, "becomes-file")))
	writeFile(t, filepath.Join(src, "becomes-file"), "now a file\n")
	must(t, os.Link(filepath.Join(src, "meta.txt"), filepath.Join(src, "meta-link")))
	must(t, os.Remove(filepath.Join(src, "link")))
	must(t, os.Symlink("meta.txt", filepath.Join(src, "link")))
	writeFile(t, filepath.Join(src, "new/file"), "added\n")

	second := mustBackup(t, o)
	checkSealed(t, second.Tree)
	if d := testtree.RsyncDiff(t, src, second.Tree); d != "" {
		t.Errorf("second backup differs from the source:\n%s", d)
	}
	if d := testtree.RsyncDiff(t, old, first.Tree); d != "" {
		t.Errorf("first backup changed:\n%s", d)
	}
	if !testtree.SameInode(t, filepath.Join(second.Tree, "meta.txt"), filepath.Join(second.Tree, "meta-link")) {
		t.Error("meta.txt and meta-link are not one inode in the second backup")
	}
	if second.Info.Copied > 10 {
		t.Errorf("second backup copied %d files; only a handful changed", second.Info.Copied)
	}
	mustVerifyClean(t, repoPath)

	// A third backup of an unchanged source changes nothing.
	third := mustBackup(t, o)
	if third.Info.Copied != 0 || third.Info.AddedBytes != 0 {
		t.Errorf("no-change backup copied %d files, %d bytes", third.Info.Copied, third.Info.AddedBytes)
	}
	if d := testtree.RsyncDiff(t, src, third.Tree); d != "" {
		t.Errorf("third backup differs from the source:\n%s", d)
	}

	if _, err := Prune(t.Context(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}, Log: discardLog()}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("btrfs", "subvolume", "list", filepath.Dir(repoPath)).CombinedOutput()
	if err != nil {
		t.Fatalf("btrfs subvolume list: %v: %s", err, out)
	}
	if n := strings.Count(string(out), "/tree\n"); n != 1 {
		t.Errorf("after pruning to one backup, %d tree subvolumes are left:\n%s", n, out)
	}
}

// checkSealed fails t unless tree is a read-only subvolume: removing,
// writing and chmod in it fail with EROFS.
func checkSealed(t *testing.T, tree string) {
	t.Helper()
	if ok, err := btrfs.IsSubvolume(tree); !ok || err != nil {
		t.Fatalf("%s is not a subvolume (%v)", tree, err)
	}
	if ro, err := btrfs.ReadOnly(tree); !ro || err != nil {
		t.Errorf("%s is not read-only (%v)", tree, err)
	}
	ents, err := os.ReadDir(tree)
	if err != nil || len(ents) == 0 {
		t.Fatalf("%s: no entry to remove (%v)", tree, err)
	}
	for what, err := range map[string]error{
		"create": os.WriteFile(filepath.Join(tree, "intruder"), nil, 0o600),
		"chmod":  os.Chmod(tree, 0o777),
		"remove": os.RemoveAll(filepath.Join(tree, ents[0].Name())),
	} {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s in the sealed tree: %v, want EROFS", what, err)
		}
	}
}

// A subvolume layout is refused off btrfs, with ErrLayout.
func TestSubvolumeLayoutNeedsBtrfs(t *testing.T) {
	dir := testsys.MountTmpfs(t, 16<<20)
	_, err := Init(filepath.Join(dir, "repo"), repo.Settings{Layout: repo.LayoutSubvolume})
	if !errors.Is(err, repo.ErrLayout) {
		t.Errorf("subvolume layout on tmpfs: %v, want ErrLayout", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "repo")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused init left %s/repo (%v)", dir, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// verify reports a subvolume tree someone made writable.
func TestVerifyReportsWritableSubvolume(t *testing.T) {
	src, repoPath := btrfsRepo(t)
	writeFile(t, filepath.Join(src, "f"), "x\n")
	res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src, Log: discardLog()})
	mustVerifyClean(t, repoPath)
	must(t, btrfs.SetReadOnly(res.Tree, false))
	rep, err := Verify(t.Context(), VerifyOptions{Repo: repoPath, Log: discardLog()})
	if err == nil || rep == nil || len(rep.Problems) != 1 || rep.Problems[0].Kind != "writable" {
		t.Errorf("verify of a writable subvolume tree: %v, %+v", err, rep)
	}
}

// A run that died after sealing its tree read-only, before the commit,
// leaves a read-only subvolume under ID.partial: it is never listed
// complete, and the next backup deletes it and succeeds.
func TestSealedPartialIsRemoved(t *testing.T) {
	src, repoPath := btrfsRepo(t)
	writeFile(t, filepath.Join(src, "f"), "one\n")
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Log: discardLog()}
	first := mustBackup(t, o)
	partial := filepath.Join(repoPath, "backups", "vol", "2030-01-01T000000Z.partial")
	must(t, os.Mkdir(partial, 0o700))
	must(t, btrfs.Snapshot(first.Tree, filepath.Join(partial, repo.TreeDir), true))
	for _, b := range backupsOf(t, repoPath, "vol") {
		if b.Complete && b.ID != first.Info.ID {
			t.Fatalf("the sealed partial is listed complete: %+v", b)
		}
	}
	writeFile(t, filepath.Join(src, "f"), "two\n")
	second := mustBackup(t, o)
	if _, err := os.Lstat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the sealed partial is still there (%v)", err)
	}
	if d := testtree.RsyncDiff(t, src, second.Tree); d != "" {
		t.Errorf("the next backup differs from the source:\n%s", d)
	}
}

// With the source on the repository's btrfs, copied files share the
// source's extents (FICLONE): the backup writes no file data, and its
// files hold the source's bytes and metadata.
func TestSubvolumeLayoutClonesFromSource(t *testing.T) {
	src, repoPath := btrfsRepo(t)
	testtree.Create(t, src, testtree.Random(3, 100))
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Log: discardLog()}
	first := mustBackup(t, o)
	if first.Info.Copied == 0 || first.Info.AddedBytes != 0 {
		t.Errorf("first backup: %d files copied, %d bytes written; want every file cloned, nothing written", first.Info.Copied, first.Info.AddedBytes)
	}
	if d := testtree.RsyncDiff(t, src, first.Tree); d != "" {
		t.Errorf("backup differs from the source:\n%s", d)
	}
	mustVerifyClean(t, repoPath)
}

// A run that changes nothing makes its tree as one read-only snapshot of
// the previous tree (one transaction commit): unchanged symlinks, special
// files and hard-link groups are left as the snapshot holds them. A run
// that changes something (here the content of a file with three names)
// makes one writable snapshot, changes it and seals it. Every tree holds
// the source, hard links included.
func TestInPlaceSnapshotsOnce(t *testing.T) {
	src, repoPath := btrfsRepo(t)
	testtree.Create(t, src, testtree.EveryKind(t))
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Log: discardLog()}
	mustBackup(t, o)
	var calls []bool
	defer func(f func(string, string, bool) error) { snapshotSubvolume = f }(snapshotSubvolume)
	snapshotSubvolume = func(from, to string, readOnly bool) error {
		calls = append(calls, readOnly)
		return btrfs.Snapshot(from, to, readOnly)
	}
	for _, c := range []struct {
		change string
		want   []bool
	}{{"", []bool{true}}, {"changed", []bool{false}}, {"", []bool{true}}} {
		calls = nil
		if c.change != "" {
			writeFile(t, filepath.Join(src, "hardlink"), c.change)
		}
		res := mustBackup(t, o)
		if len(calls) != len(c.want) || calls[0] != c.want[0] {
			t.Errorf("change %q: snapshots read-only %v, want %v", c.change, calls, c.want)
		}
		checkSealed(t, res.Tree)
		if d := testtree.RsyncDiff(t, src, res.Tree); d != "" {
			t.Errorf("change %q: backup differs from the source:\n%s", c.change, d)
		}
	}
}

// A manifest that matches the previous one is shared with it only when
// the previous file still holds what its info records: a damaged one is
// never passed on, the new manifest is written instead.
func TestDamagedPreviousManifestIsNotShared(t *testing.T) {
	src, repoPath := btrfsRepo(t)
	testtree.Create(t, src, testtree.Random(5, 50))
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Log: discardLog()}
	first := mustBackup(t, o)
	flipByte(t, filepath.Join(filepath.Dir(first.Tree), repo.ManifestFile), 40)
	second := mustBackup(t, o)
	sum, err := hashFile(filepath.Join(filepath.Dir(second.Tree), repo.ManifestFile))
	if err != nil || sum != second.Info.ManifestBLAKE3 {
		t.Fatalf("the new manifest hashes to %s (%v), its info records %s: the damaged one was passed on", sum, err, second.Info.ManifestBLAKE3)
	}
}
