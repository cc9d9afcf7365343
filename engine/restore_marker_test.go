package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
)

// A restore that stops early (here: cancelled) leaves the target flagged
// with RestoreMarker; restoring into it again is refused without Force and
// completes with it, removing the marker and leaving an exact tree.
func TestInterruptedRestoreIsFlagged(t *testing.T) {
	src, repoPath := dirs(t)
	testtree.Create(t, src, testtree.Random(3, 200))
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	target := filepath.Join(t.TempDir(), "t")
	o := RestoreOptions{Repo: repoPath, Name: "vol", Target: target}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Restore(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(target, RestoreMarker)); err != nil {
		t.Fatalf("the interrupted restore is not flagged: %v", err)
	}
	if _, err := Restore(context.Background(), o); err == nil || !strings.Contains(err.Error(), "interrupted restore") {
		t.Fatalf("restore into a flagged target without force: %v", err)
	}
	o.Force = true
	if _, err := Restore(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(target, RestoreMarker)); err == nil {
		t.Fatal("the finished restore left the marker")
	}
	if d := testtree.RsyncDiff(t, src, target); d != "" {
		t.Fatalf("restored tree differs:\n%s", d)
	}
}

// A restore that runs out of space fails with the file system's error
// (not a bare "context canceled" from the workers it stopped) and leaves
// the target flagged incomplete.
func TestRestoreOntoFullDiskIsFlagged(t *testing.T) {
	mnt := testsys.MountImage(t, []string{"mkfs.ext4", "-q", "-F"}, 16<<20)
	src, repoPath := dirs(t)
	buf := make([]byte, 4<<20)
	for i := range 8 { // 32 MiB of incompressible data into 16 MiB
		rand.Read(buf)
		writeFile(t, filepath.Join(src, "f"+strconv.Itoa(i)), string(buf))
	}
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	target := filepath.Join(mnt, "t")
	_, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("restore onto a full disk: %v, want ENOSPC", err)
	}
	if _, err := os.Lstat(filepath.Join(target, RestoreMarker)); err != nil {
		t.Fatalf("the failed restore is not flagged: %v", err)
	}
}
