package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/repo"
)

// mustCopy copies and fails t unless the result lists want: for each
// backup in order, whether it was copied (true) or skipped.
func mustCopy(t *testing.T, o CopyOptions, want ...bool) *CopyResult {
	t.Helper()
	res, err := Copy(context.Background(), o)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if len(res.Backups) != len(want) {
		t.Fatalf("copy went through %d backups, want %d: %+v", len(res.Backups), len(want), res.Backups)
	}
	for i, w := range want {
		if res.Backups[i].Skipped == w {
			t.Errorf("backup %d (%s): skipped=%v, want %v", i, res.Backups[i].ID, res.Backups[i].Skipped, !w)
		}
	}
	return res
}

// latest returns the newest complete backup of name in repoPath.
func latest(t *testing.T, repoPath, name string) *repo.Backup {
	t.Helper()
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Pick(name, "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A file-mode copy between local repositories holds exactly what the
// backup holds (rsync -anc oracle), with the same ID, info and manifest
// byte for byte; a second copy skips it, and the copy of a later backup
// hard-links the unchanged files to the first copy and copies only what
// changed.
func TestCopyFiles(t *testing.T) {
	src, from := dirs(t)
	to := newRepo(t, filepath.Join(t.TempDir(), "offsite"))
	testtree.Create(t, src, testtree.EveryKind(t))
	a1 := mustBackup(t, BackupOptions{Repo: from, Name: "home", Source: src, Now: day(20), Label: "/dev/vg/home"})
	res := mustCopy(t, CopyOptions{From: from, To: to}, true)
	if c := res.Backups[0]; c.ID != a1.Info.ID || c.Mode != repo.ModeFiles || c.Stored != a1.Info.Copied || c.Reused != 0 {
		t.Errorf("first copy: %+v; want every one of the %d inodes copied", c, a1.Info.Copied)
	}
	b1 := latest(t, to, "home")
	if d := testtree.RsyncDiff(t, a1.Tree, b1.TreePath()); d != "" {
		t.Errorf("the copy differs from the backup:\n%s", d)
	}
	if b1.ID != a1.Info.ID || b1.Info.ManifestBLAKE3 != a1.Info.ManifestBLAKE3 || b1.Info.Source != "/dev/vg/home" ||
		!b1.Info.Started.Equal(a1.Info.Started) || !b1.Info.Finished.Equal(a1.Info.Finished) {
		t.Errorf("the copy's info %+v; want the backup's ID, manifest, source and times", b1.Info)
	}
	if cf := b1.Info.CopiedFrom; cf == nil || cf.Repo != from || cf.RepoID == "" {
		t.Errorf("copied_from = %+v, want %s", cf, from)
	}
	mustCopy(t, CopyOptions{From: from, To: to}, false)

	writeFile(t, filepath.Join(src, "small.txt"), "changed, and longer\n")
	writeFile(t, filepath.Join(src, "added.txt"), "new\n")
	if err := os.Remove(filepath.Join(src, "empty")); err != nil {
		t.Fatal(err)
	}
	a2 := mustBackup(t, BackupOptions{Repo: from, Name: "home", Source: src, Now: day(21)})
	res = mustCopy(t, CopyOptions{From: from, To: to, Name: "home"}, false, true)
	if c := res.Backups[1]; c.Stored != 2 || a2.Info.Copied != 2 || c.Reused != a2.Info.Linked {
		t.Errorf("copy of the second backup: %+v; want the 2 changed files copied, the other %d linked, as the backup did", c, a2.Info.Linked)
	}
	b2 := latest(t, to, "home")
	if d := testtree.RsyncDiff(t, a2.Tree, b2.TreePath()); d != "" {
		t.Errorf("the second copy differs from its backup:\n%s", d)
	}
	if b2.Info.ManifestBLAKE3 != a2.Info.ManifestBLAKE3 {
		t.Error("the second copy's manifest is not the backup's")
	}
	for _, f := range []string{"big.bin", "nested/a/b/deep.txt", "hardlink"} {
		if !sharedWithPrevious(t, filepath.Join(b1.TreePath(), f), filepath.Join(b2.TreePath(), f)) {
			t.Errorf("%s: unchanged, but not shared with the first copy", f)
		}
	}
	if sharedWithPrevious(t, filepath.Join(b1.TreePath(), "small.txt"), filepath.Join(b2.TreePath(), "small.txt")) {
		t.Error("small.txt changed, yet the second copy shares the first copy's")
	}
	mustVerifyClean(t, to)
}

// A block-mode copy between local repositories restores bit-identical
// and verifies; copying again stores nothing, and the copy of a later
// backup stores only the chunk that changed.
func TestCopyBlocks(t *testing.T) {
	dir := t.TempDir()
	img, from, to := filepath.Join(dir, "disk.img"), newRepo(t, filepath.Join(dir, "a")), newRepo(t, filepath.Join(dir, "b"))
	makeImage(t, img)
	want := sha(t, img)
	a1, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: from, Name: "vm", Source: img, Now: day(20)}})
	if err != nil {
		t.Fatal(err)
	}
	res := mustCopy(t, CopyOptions{From: from, To: to}, true)
	if c := res.Backups[0]; c.Stored != a1.Info.Copied || c.Bytes != a1.Info.AddedBytes || c.Read != c.Bytes {
		t.Errorf("first copy %+v; want every chunk the backup stored (%d, %d bytes) read and stored", c, a1.Info.Copied, a1.Info.AddedBytes)
	}
	mustCopy(t, CopyOptions{From: from, To: to}, false)
	out := filepath.Join(dir, "restored.img")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: to, Name: "vm", Target: out}); err != nil {
		t.Fatal(err)
	}
	if sha(t, out) != want {
		t.Fatal("the image restored from the copy differs")
	}

	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("a change in one chunk"), 30<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: from, Name: "vm", Source: img, Now: day(21)}}); err != nil {
		t.Fatal(err)
	}
	res = mustCopy(t, CopyOptions{From: from, To: to, Name: "vm"}, false, true)
	if c := res.Backups[1]; c.Stored != 1 {
		t.Errorf("copy of the second backup %+v; want the one changed chunk stored", c)
	}
	b2 := latest(t, to, "vm")
	if b2.Info.CopiedFrom == nil || b2.Info.Size != 64<<20 || b2.Info.Copied != 1 {
		t.Errorf("the copy's info %+v", b2.Info)
	}
	mustVerifyClean(t, to)
	if _, err := Restore(context.Background(), RestoreOptions{Repo: to, Name: "vm", Target: out, Force: true}); err != nil {
		t.Fatal(err)
	}
	if sha(t, out) != sha(t, img) {
		t.Fatal("the second image restored from the copy differs")
	}
}

// What Copy refuses before it writes anything: an unknown or incomplete
// ID, a name without backups, one repository twice, a target of another
// chunk size.
func TestCopyRefusals(t *testing.T) {
	src, from := dirs(t)
	writeFile(t, filepath.Join(src, "f"), "x")
	mustBackup(t, BackupOptions{Repo: from, Name: "home", Source: src, Now: day(20)})
	r, err := repo.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	partial, err := r.Begin("home", day(22)())
	if err != nil {
		t.Fatal(err)
	}
	to := newRepo(t, filepath.Join(t.TempDir(), "to"))
	other := filepath.Join(t.TempDir(), "other")
	if _, err := Init(other, repo.Settings{BlockChunkSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	makeImage(t, img)
	if _, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: from, Name: "vm", Source: img, Now: day(20)}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    CopyOptions
		want error
	}{
		{"unknown id", CopyOptions{From: from, To: to, IDs: []string{"2026-11-20T030000Z", "2025-01-01T000000Z"}}, repo.ErrNotFound},
		{"incomplete id", CopyOptions{From: from, To: to, Name: "home", IDs: []string{partial.ID}}, repo.ErrIncomplete},
		{"name without backups", CopyOptions{From: from, To: to, Name: "nothing"}, repo.ErrNotFound},
		{"same repository", CopyOptions{From: from, To: from + "/."}, ErrSameRepository},
		{"other chunk size", CopyOptions{From: from, To: other}, ErrNotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Copy(context.Background(), tt.o)
			if !errors.Is(err, tt.want) || res != nil {
				t.Fatalf("copy: %v, %v; want %v", res, err, tt.want)
			}
			for _, dir := range []string{to, other} {
				if ents, err := os.ReadDir(filepath.Join(dir, "backups")); err != nil || len(ents) != 0 {
					t.Errorf("%s holds %v after a refused copy (%v)", dir, ents, err)
				}
			}
		})
	}
}

// A copy is kept only when it holds what its backup holds: a file of the
// backup's tree damaged (new content, same size and mtime) fails the
// copy, and so does a corrupt chunk; a file of the target's previous
// copy damaged since (linked, not read) fails the verification of the
// new copy. Nothing of a failed copy stays in the target.
func TestCopyKeepsNothingDamaged(t *testing.T) {
	t.Run("files", func(t *testing.T) {
		src, from := tamperDirs(t)
		writeFile(t, filepath.Join(src, "a.txt"), "alpha\n")
		writeFile(t, filepath.Join(src, "b.txt"), "bravo\n")
		a1 := mustBackup(t, BackupOptions{Repo: from, Name: "home", Source: src, Now: day(20)})
		to := filepath.Join(t.TempDir(), "to")
		if _, err := Init(to, repo.Settings{Layout: repo.LayoutHardlink}); err != nil {
			t.Fatal(err)
		}
		damage(t, filepath.Join(a1.Tree, "a.txt"), "ALPHA\n")
		_, err := Copy(context.Background(), CopyOptions{From: from, To: to})
		if err == nil || !strings.Contains(err.Error(), `"a.txt": changed [content]`) {
			t.Fatalf("copy of a damaged backup: %v; want it refused naming a.txt's content", err)
		}
		t.Log(err)
		noBackups(t, to, "home")

		damage(t, filepath.Join(a1.Tree, "a.txt"), "alpha\n")
		mustCopy(t, CopyOptions{From: from, To: to}, true)
		writeFile(t, filepath.Join(src, "c.txt"), "charlie\n")
		mustBackup(t, BackupOptions{Repo: from, Name: "home", Source: src, Now: day(21)})
		damage(t, filepath.Join(latest(t, to, "home").TreePath(), "b.txt"), "BRAVO\n")
		_, err = Copy(context.Background(), CopyOptions{From: from, To: to})
		if !errors.Is(err, ErrVerifyFailed) || !strings.Contains(err.Error(), "b.txt") {
			t.Fatalf("copy linking a damaged file: %v; want ErrVerifyFailed naming b.txt", err)
		}
		t.Log(err)
		if bs := backupsOf(t, to, "home"); len(bs) != 1 {
			t.Errorf("the target holds %d backups after the failed copy, want the first alone", len(bs))
		}
		// As the error says: verify records the damage, and the next copy
		// copies b.txt instead of linking it.
		if _, err := Verify(context.Background(), VerifyOptions{Repo: to}); !errors.Is(err, ErrVerifyFailed) {
			t.Fatalf("verify of the damaged target: %v", err)
		}
		res := mustCopy(t, CopyOptions{From: from, To: to}, false, true)
		if c := res.Backups[1]; c.Stored != 2 {
			t.Errorf("copy after verify: %+v; want c.txt and b.txt copied", c)
		}
	})
	t.Run("blocks", func(t *testing.T) {
		img, from, chunk := blockRepo(t)
		_ = img
		flipByte(t, chunk, 10)
		to := newRepo(t, filepath.Join(t.TempDir(), "to"))
		_, err := Copy(context.Background(), CopyOptions{From: from, To: to})
		if err == nil || !strings.Contains(err.Error(), "corrupt chunk") {
			t.Fatalf("copy of a corrupt chunk: %v", err)
		}
		t.Log(err)
		noBackups(t, to, "vm")
	})
}

// damage gives the file at path new content of the same length, keeping
// its mtime: only its hash tells.
func damage(t *testing.T, path, content string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, fi.Mode()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// noBackups fails t unless repoPath holds no backup of name, complete or
// partial.
func noBackups(t *testing.T, repoPath, name string) {
	t.Helper()
	if bs := backupsOf(t, repoPath, name); len(bs) != 0 {
		t.Errorf("%s holds %d backups of %s, want none: %+v", repoPath, len(bs), name, bs)
	}
}

// Copy takes the lock of the target and, unless the caller holds it
// (FromLocked), of the source: a copy while either is held elsewhere is
// refused.
func TestCopyLocks(t *testing.T) {
	t.Setenv(repo.LockWaitEnv, "0") // no wait for the exclusive lock
	src, from := dirs(t)
	writeFile(t, filepath.Join(src, "f"), "x")
	mustBackup(t, BackupOptions{Repo: from, Name: "home", Source: src, Now: day(20)})
	to := newRepo(t, filepath.Join(t.TempDir(), "to"))
	for _, path := range []string{from, to} {
		r, err := repo.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		l, err := r.Lock()
		if err != nil {
			t.Fatal(err)
		}
		_, err = Copy(context.Background(), CopyOptions{From: from, To: to})
		if !errors.Is(err, repo.ErrLocked) {
			t.Errorf("copy while %s is locked: %v, want ErrLocked", path, err)
		}
		if path == from {
			mustCopy(t, CopyOptions{From: from, To: to, FromLocked: true}, true)
		}
		l.Unlock()
	}
}

// A target that holds another backup under a backup's name and ID (made
// there in the same second) is not taken for a copy of it.
func TestCopyRefusesAnotherBackupWithTheID(t *testing.T) {
	src, from := dirs(t)
	writeFile(t, filepath.Join(src, "f"), "x")
	mustBackup(t, BackupOptions{Repo: from, Name: "home", Source: src, Now: day(20)})
	to := newRepo(t, filepath.Join(t.TempDir(), "to"))
	later := func() time.Time { return day(20)().Add(500 * time.Millisecond) }
	mustBackup(t, BackupOptions{Repo: to, Name: "home", Source: src, Now: later})
	_, err := Copy(context.Background(), CopyOptions{From: from, To: to})
	if !errors.Is(err, repo.ErrBackupExists) {
		t.Fatalf("copy over another backup with the ID: %v, want ErrBackupExists", err)
	}
}
