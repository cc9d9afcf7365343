package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/repo"
)

// treeFile is what a test remembers of one file of a backup tree.
type treeFile struct {
	ino     uint64
	content string
}

// snapshotTrees records the inode and content of every regular file in
// the trees of the backups of name, by "ID/path".
func snapshotTrees(t *testing.T, repoPath, name string) map[string]treeFile {
	t.Helper()
	out := map[string]treeFile{}
	for _, b := range backupsOf(t, repoPath, name) {
		filepath.Walk(b.TreePath(), func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(b.TreePath(), p)
			out[b.ID+"/"+rel] = treeFile{ino: fi.Sys().(*syscall.Stat_t).Ino, content: string(data)}
			return nil
		})
	}
	return out
}

func inoOf(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func damagedList(t *testing.T, repoPath string) []repo.DamagedInode {
	t.Helper()
	r, err := repo.Open(repoPath) // a fresh open: the list is read from its file
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Damaged()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// oldSource writes files and ages them, so the next backups link them.
func oldSource(t *testing.T, src string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		writeFile(t, filepath.Join(src, p), c)
	}
	old := time.Now().Add(-time.Hour)
	filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
}

// Issue 12, end to end: a file damaged in an older backup's tree is
// recorded by verify, never linked again by the next backup (a fresh copy,
// said in the summary), and verify --repair heals every backup sharing the
// damaged inode, all names of a hard-linked group included, from the
// intact copy, leaving every intact inode as it was.
func TestHealEndToEnd(t *testing.T) {
	src, repoPath := tamperDirs(t)
	oldSource(t, src, map[string]string{"plain": "plain content", "group/a": "group content", "fine": "fine content"})
	if err := os.Link(filepath.Join(src, "group/a"), filepath.Join(src, "group/b")); err != nil {
		t.Fatal(err)
	}
	b1 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	b2 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	plainIno, groupIno := inoOf(t, filepath.Join(b1.Tree, "plain")), inoOf(t, filepath.Join(b1.Tree, "group/a"))
	if inoOf(t, filepath.Join(b2.Tree, "plain")) != plainIno || inoOf(t, filepath.Join(b2.Tree, "group/b")) != groupIno {
		t.Fatal("the second backup did not link the first one's files: the test proves nothing")
	}

	flipByte(t, filepath.Join(b1.Tree, "plain"), 2)
	flipByte(t, filepath.Join(b1.Tree, "group/b"), 0)
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath})
	if !errors.Is(err, ErrVerifyFailed) || len(rep.Problems) != 6 || rep.Damaged != 2 {
		t.Fatalf("verify: %v, %d problems, %d recorded; want 6 problems, 2 recorded: %v", err, len(rep.Problems), rep.Damaged, rep.Problems)
	}
	list := damagedList(t, repoPath)
	if len(list) != 2 || list[0].Ino != min(plainIno, groupIno) || list[1].Ino != max(plainIno, groupIno) {
		t.Fatalf("damaged list %+v, want inodes %d and %d", list, plainIno, groupIno)
	}
	if _, err := Verify(context.Background(), VerifyOptions{Repo: repoPath}); !errors.Is(err, ErrVerifyFailed) {
		t.Fatal(err)
	}
	if again := damagedList(t, repoPath); len(again) != 2 {
		t.Fatalf("a second verify changed the list: %+v", again)
	}

	// --checksum compares the source with the previous manifest, which
	// both still agree on: only the list keeps it from linking. That
	// backup is removed again, so the next one also starts from b2.
	for _, checksum := range []bool{true, false} {
		b3 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src, Checksum: checksum})
		for _, p := range []string{"plain", "group/a", "group/b"} {
			if ino := inoOf(t, filepath.Join(b3.Tree, p)); ino == plainIno || ino == groupIno {
				t.Errorf("checksum %v: %s links the damaged inode %d", checksum, p, ino)
			}
		}
		if got := readString(t, filepath.Join(b3.Tree, "group/b")); got != "group content" {
			t.Errorf("checksum %v: group/b holds %q", checksum, got)
		}
		if inoOf(t, filepath.Join(b3.Tree, "fine")) != inoOf(t, filepath.Join(b1.Tree, "fine")) {
			t.Errorf("checksum %v: an intact file was not linked", checksum)
		}
		if b3.Info.DamagedCopied != 2 {
			t.Errorf("checksum %v: %d files copied instead of linked, want 2", checksum, b3.Info.DamagedCopied)
		}
		if checksum {
			if err := os.RemoveAll(b3.Dir); err != nil {
				t.Fatal(err)
			}
		}
	}

	before := snapshotTrees(t, repoPath, "vol")
	rep, err = Verify(context.Background(), VerifyOptions{Repo: repoPath, Repair: true})
	if err != nil {
		t.Fatalf("verify --repair: %v (%+v)", err, rep.Repair)
	}
	if len(rep.Repair.Healed) != 2 || len(rep.Repair.Unhealed) != 0 {
		t.Fatalf("repair: %+v", rep.Repair)
	}
	for _, h := range rep.Repair.Healed {
		if n := len(h.Files); n != 2 && n != 4 {
			t.Errorf("healed %v: want every name in both backups", h.Files)
		}
	}
	after := snapshotTrees(t, repoPath, "vol")
	healed := map[string]string{"plain": "plain content", "group/a": "group content", "group/b": "group content"}
	for k, was := range before {
		now := after[k]
		id, rel, _ := strings.Cut(k, "/")
		if want, ok := healed[rel]; ok && (id == b1.Info.ID || id == b2.Info.ID) {
			if now.content != want || now.ino == was.ino {
				t.Errorf("%s: %q in inode %d (was %d), want a new inode with %q", k, now.content, now.ino, was.ino, want)
			}
			continue
		}
		if now != was {
			t.Errorf("intact %s changed: %+v, was %+v", k, now, was)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d files after repair, %d before", len(after), len(before))
	}
	for _, id := range []string{b1.Info.ID, b2.Info.ID} {
		if after[id+"/group/a"].ino != after[id+"/group/b"].ino || after[id+"/plain"].ino != after[b1.Info.ID+"/plain"].ino {
			t.Errorf("%s: the healed names do not share one new inode: %+v", id, after)
		}
	}
	if l := damagedList(t, repoPath); len(l) != 0 {
		t.Errorf("damaged list after repair: %+v", l)
	}
	mustVerifyClean(t, repoPath)
}

// With no intact copy anywhere, repair says so, fails, and changes
// nothing (the list keeps the inode); from --source it heals.
func TestRepairFromSource(t *testing.T) {
	src, repoPath := tamperDirs(t)
	oldSource(t, src, map[string]string{"d/f": "the content", "d/other": "other"})
	b1 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	b2 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	damaged := filepath.Join(b1.Tree, "d/f")
	ino := inoOf(t, damaged)
	flipByte(t, damaged, 1)
	dirFi, _ := os.Lstat(filepath.Join(b1.Tree, "d"))
	before := snapshotTrees(t, repoPath, "vol")

	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath, Repair: true})
	if !errors.Is(err, ErrVerifyFailed) || len(rep.Repair.Healed) != 0 || len(rep.Repair.Unhealed) != 1 {
		t.Fatalf("repair without a copy: %v, %+v", err, rep.Repair)
	}
	if r := rep.Repair.Unhealed[0].Reason; !strings.Contains(r, "no intact copy") || len(rep.Repair.Unhealed[0].Files) != 2 {
		t.Errorf("unhealed: %+v", rep.Repair.Unhealed[0])
	}
	if after := snapshotTrees(t, repoPath, "vol"); len(after) != len(before) {
		t.Errorf("files changed: %v, was %v", after, before)
	} else {
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s changed: %+v, was %+v", k, after[k], v)
			}
		}
	}
	if fi, _ := os.Lstat(filepath.Join(b1.Tree, "d")); !fi.ModTime().Equal(dirFi.ModTime()) {
		t.Errorf("directory mtime changed: %v, was %v", fi.ModTime(), dirFi.ModTime())
	}
	if l := damagedList(t, repoPath); len(l) != 1 || l[0].Ino != ino {
		t.Errorf("damaged list %+v, want inode %d", l, ino)
	}

	// A source whose file differs is no intact copy either.
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "d/f"), "the contenT")
	if _, err := Verify(context.Background(), VerifyOptions{Repo: repoPath, Repair: true, Source: other}); !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("repair from a different file: %v", err)
	}
	if got := readString(t, filepath.Join(b2.Tree, "d/f")); got == "the content" || got == "the contenT" {
		t.Fatalf("a wrong source was used: %q", got)
	}

	rep, err = Verify(context.Background(), VerifyOptions{Repo: repoPath, Name: "vol", ID: b1.Info.ID, Repair: true, Source: src})
	if err != nil {
		t.Fatalf("repair from source: %v %+v", err, rep.Repair)
	}
	if len(rep.Repair.Healed) != 1 || len(rep.Repair.Healed[0].Files) != 2 || rep.Repair.Healed[0].From != filepath.Join(src, "d/f") {
		t.Fatalf("healed %+v: want both backups' names (one verified), from the source", rep.Repair.Healed)
	}
	for _, tree := range []string{b1.Tree, b2.Tree} {
		p := filepath.Join(tree, "d/f")
		if got := readString(t, p); got != "the content" || inoOf(t, p) == ino {
			t.Errorf("%s: %q, inode %d", p, got, inoOf(t, p))
		}
	}
	if l := damagedList(t, repoPath); len(l) != 0 {
		t.Errorf("damaged list after repair: %+v", l)
	}
	mustVerifyClean(t, repoPath)
}

// A recorded inode that a full verify finds intact again (mended by hand)
// leaves the list; a verify of one backup only never drops anything.
func TestDamagedListForgetsMended(t *testing.T) {
	src, repoPath := tamperDirs(t)
	oldSource(t, src, map[string]string{"f": "content"})
	b1 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	f := filepath.Join(b1.Tree, "f")
	flipByte(t, f, 0)
	if _, err := Verify(context.Background(), VerifyOptions{Repo: repoPath}); !errors.Is(err, ErrVerifyFailed) {
		t.Fatal(err)
	}
	if l := damagedList(t, repoPath); len(l) != 1 {
		t.Fatalf("list %+v", l)
	}
	flipByte(t, f, 0) // mended in place
	if _, err := Verify(context.Background(), VerifyOptions{Repo: repoPath, Name: "vol", ID: b1.Info.ID}); err != nil {
		t.Fatal(err)
	}
	if l := damagedList(t, repoPath); len(l) != 1 {
		t.Fatalf("a partial verify dropped %+v", l)
	}
	mustVerifyClean(t, repoPath)
	if l := damagedList(t, repoPath); len(l) != 0 {
		t.Fatalf("list after a clean full verify: %+v", l)
	}
}
