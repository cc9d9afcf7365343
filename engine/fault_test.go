package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// A backup killed with SIGKILL mid-copy leaves earlier backups verifying
// clean and no complete-looking leftover; the next run removes the partial
// backup and succeeds.
func TestKilledBackupLeavesNothingBehind(t *testing.T) {
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "small"), "first")
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Jobs: 2}
	mustBackup(t, o)
	buf := make([]byte, 4<<20)
	os.Mkdir(filepath.Join(src, "big"), 0o755)
	for i := 0; i < 60; i++ {
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(src, "big", "f"+strconv.Itoa(i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := childBackup(t, o)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killWhenCopying(t, cmd.Process, repoPath)
	cmd.Wait()

	bs := backupsOf(t, repoPath, "vol")
	if len(bs) != 2 || !bs[0].Complete || bs[1].Complete || !bs[1].Partial {
		t.Fatalf("after the kill: %+v, want one complete and one partial backup", bs)
	}
	mustVerifyClean(t, repoPath)
	res := mustBackup(t, o)
	if d := testtree.RsyncDiff(t, src, res.Tree); d != "" {
		t.Fatalf("backup after the kill differs:\n%s", d)
	}
	bs = backupsOf(t, repoPath, "vol")
	if len(bs) != 2 || !bs[0].Complete || !bs[1].Complete {
		t.Fatalf("after the next run: %+v, want two complete backups and no partial", bs)
	}
	mustVerifyClean(t, repoPath)
}

// SIGTERM mid-copy: the run stops, removes its partial backup and fails.
func TestInterruptedBackupCleansUp(t *testing.T) {
	src, repoPath := dirs(t)
	buf := make([]byte, 4<<20)
	os.Mkdir(filepath.Join(src, "big"), 0o755)
	for i := 0; i < 60; i++ {
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(src, "big", "f"+strconv.Itoa(i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := childBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src, Jobs: 2})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	signalWhenCopying(t, cmd.Process, repoPath, syscall.SIGTERM)
	if err := cmd.Wait(); err == nil {
		t.Fatal("interrupted backup exited 0")
	}
	if bs := backupsOf(t, repoPath, "vol"); len(bs) != 0 {
		t.Fatalf("left behind: %+v", bs)
	}
}

func killWhenCopying(t *testing.T, p *os.Process, repoPath string) {
	signalWhenCopying(t, p, repoPath, syscall.SIGKILL)
}

// signalWhenCopying waits until the child has copied some files, then signals it.
func signalWhenCopying(t *testing.T, p *os.Process, repoPath string, sig os.Signal) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(repoPath, "backups", "vol", "*.partial", "tree", "big", "*"))
		if len(matches) >= 3 {
			if err := p.Signal(sig); err != nil {
				t.Fatalf("kill: %v", err)
			}
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.Kill()
	t.Fatal("the child never started copying")
}

// An unreadable source file is reported with its path, the rest is backed
// up, the backup completes and the run reports an error.
func TestUnreadableFileIsReportedAndSkipped(t *testing.T) {
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "ok"), "fine")
	writeFile(t, filepath.Join(src, "secret"), "no access")
	os.Chmod(filepath.Join(src, "secret"), 0)
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src}
	if isRoot() {
		// root reads everything: run the backup as an unprivileged user.
		for _, p := range []string{src, filepath.Join(src, "ok"), filepath.Join(src, "secret")} {
			os.Lchown(p, 65534, 65534)
		}
		chownTree(t, repoPath, 65534) // as if that user had run lvback init
		openUp(t, filepath.Dir(src))
		cmd := childBackup(t, o)
		cmd.Path = copyTestBinary(t, filepath.Dir(src))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "secret") {
			t.Fatalf("child: err=%v output=%s, want exit 1 naming the file", err, out)
		}
		// root refuses a repository whose marker another user owns: hand it over
		os.Chown(filepath.Join(repoPath, repo.MarkerFile), 0, 0)
	} else {
		_, err := Backup(context.Background(), o)
		if !errors.Is(err, ErrEntriesSkipped) || !strings.Contains(err.Error(), "secret") {
			t.Fatalf("err = %v, want ErrEntriesSkipped naming secret", err)
		}
	}
	bs := backupsOf(t, repoPath, "vol")
	if len(bs) != 1 || !bs[0].Complete {
		t.Fatalf("backups %+v, want one complete", bs)
	}
	if bs[0].Info.Errors != 1 || bs[0].Info.ErrorSamples[0].Path != "secret" {
		t.Fatalf("info errors = %d %+v", bs[0].Info.Errors, bs[0].Info.ErrorSamples)
	}
	if _, err := os.Stat(filepath.Join(bs[0].TreePath(), "ok")); err != nil {
		t.Fatalf("readable file not backed up: %v", err)
	}
}

// When the previous backup's inode is at the file system's link limit,
// the file is copied instead and the run goes on.
func TestLinkLimitFallsBackToCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: creates 65,000 links")
	}
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "popular"), "linked a lot")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(src, "popular"), old, old)
	first := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	target := filepath.Join(first.Tree, "popular")
	extra := filepath.Join(t.TempDir(), "links")
	os.Mkdir(extra, 0o755)
	n := 0
	for ; n < 70000; n++ {
		err := os.Link(target, filepath.Join(extra, "l"+strconv.Itoa(n)))
		if errors.Is(err, syscall.EMLINK) {
			break
		}
		if err != nil {
			t.Skipf("cannot create links here: %v", err)
		}
	}
	if n == 70000 {
		t.Skip("the temp file system has no link limit below 70,000")
	}
	second := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if second.Info.Copied != 1 || second.Info.Linked != 0 {
		t.Fatalf("copied %d linked %d, want the file copied", second.Info.Copied, second.Info.Linked)
	}
	if d := testtree.RsyncDiff(t, src, second.Tree); d != "" {
		t.Fatalf("differs:\n%s", d)
	}
}

// openUp makes dir writable for everyone and its parents searchable, so an
// unprivileged child process can use it.
func openUp(t *testing.T, dir string) {
	os.Chmod(dir, 0o777)
	for p := filepath.Dir(dir); p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil {
			os.Chmod(p, fi.Mode().Perm()|0o011)
		}
	}
}

// copyTestBinary copies the running test binary into dir (go test keeps it
// in a directory only its owner may enter) and returns the copy's path.
func copyTestBinary(t *testing.T, dir string) string {
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "engine.test")
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A full repository file system fails the backup with a clear error,
// promotes nothing, removes the partial data and leaves earlier backups
// verifying clean.
func TestFullDiskFailsCleanly(t *testing.T) {
	mnt := testsys.MountImage(t, []string{"mkfs.ext4", "-q", "-F"}, 64<<20)
	src := filepath.Join(t.TempDir(), "src")
	repoPath := newRepo(t, filepath.Join(mnt, "repo"))
	writeFile(t, filepath.Join(src, "small"), "fits")
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	buf := make([]byte, 8<<20)
	for i := 0; i < 12; i++ { // 96 MiB of incompressible data into 64 MiB
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(src, "big"+strconv.Itoa(i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Backup(context.Background(), BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "vol") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want a one-line ENOSPC error naming the volume", err)
	}
	bs := backupsOf(t, repoPath, "vol")
	if len(bs) != 1 || !bs[0].Complete {
		t.Fatalf("backups after the full disk: %+v", bs)
	}
	mustVerifyClean(t, repoPath)
	var st syscall.Statfs_t
	syscall.Statfs(mnt, &st)
	if free := int64(st.Bavail) * st.Bsize; free < 40<<20 {
		t.Fatalf("partial data not removed: only %d MiB free", free>>20)
	}
}

// A block backup that fills the repository's disk fails with a one-line
// ENOSPC error naming the volume, keeps nothing of its own (no backup, no
// chunk or temporary file, the space is free again), and the earlier
// backup still verifies and restores.
func TestFullDiskBlockBackupFailsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: fills a 64 MiB file system with chunks")
	}
	mnt := testsys.MountImage(t, []string{"mkfs.ext4", "-q", "-F", "-m", "0"}, 64<<20)
	repoPath := newRepo(t, filepath.Join(mnt, "repo"))
	img := filepath.Join(t.TempDir(), "disk.img")
	small := make([]byte, 4<<20)
	rand.Read(small)
	if err := os.WriteFile(img, small, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := BackupBlocks(ctx, BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img}}); err != nil {
		t.Fatal(err)
	}
	var before syscall.Statfs_t
	syscall.Statfs(mnt, &before)
	big := make([]byte, 96<<20) // incompressible: 96 MiB of chunks into 64 MiB
	rand.Read(big)
	if err := os.WriteFile(img, big, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := BackupBlocks(ctx, BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img}})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "vm") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want a one-line ENOSPC error naming the volume", err)
	}
	if bs := backupsOf(t, repoPath, "vm"); len(bs) != 1 || !bs[0].Complete {
		t.Fatalf("backups after the full disk: %+v", bs)
	}
	tmps, _ := filepath.Glob(filepath.Join(repoPath, "chunks", "*", ".*"))
	if len(tmps) != 0 {
		t.Errorf("temporary chunk files left: %d", len(tmps))
	}
	var after syscall.Statfs_t
	syscall.Statfs(mnt, &after)
	if lost := (int64(before.Bavail) - int64(after.Bavail)) * after.Bsize; lost > 1<<20 {
		t.Errorf("the failed backup still holds %d KiB", lost>>10)
	}
	mustVerifyClean(t, repoPath)
	out := filepath.Join(t.TempDir(), "restored.img")
	if _, err := Restore(ctx, RestoreOptions{Repo: repoPath, Name: "vm", Target: out}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, small) {
		t.Error("the earlier block backup no longer restores")
	}
}

// A manifest write that fails with ENOSPC (the tree fitted) fails the
// backup with a one-line error naming the volume; nothing is promoted, the
// partial backup is removed and the earlier backup verifies.
func TestFullDiskUnderManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: fills a file system until the manifest no longer fits")
	}
	mnt := testsys.MountImage(t, []string{"mkfs.ext4", "-q", "-F", "-m", "0"}, 8<<20)
	ballast := filepath.Join(mnt, "ballast")
	f, err := os.Create(ballast)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break // the file system is full
		}
	}
	f.Close()
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "a"), "first")
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	for i := range 2000 { // enough entries that the manifest needs more than one block
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%04d-%x", i, i*7919)), "")
	}
	createManifest = func(string) (*manifest.Writer, error) { return manifest.Create(filepath.Join(mnt, "manifest.zst")) }
	t.Cleanup(func() { createManifest = manifest.Create })
	_, err = Backup(context.Background(), BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "vol") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want a one-line ENOSPC error naming the volume", err)
	}
	if bs := backupsOf(t, repoPath, "vol"); len(bs) != 1 || !bs[0].Complete {
		t.Fatalf("backups after the failed manifest write: %+v", bs)
	}
	mustVerifyClean(t, repoPath)
}

// chownTree gives everything below root (and root) to uid, gid uid.
func chownTree(t *testing.T, root string, uid int) {
	t.Helper()
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
	if err != nil {
		t.Fatal(err)
	}
}
