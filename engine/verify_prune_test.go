package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A backup that a prune retires while verify runs (verify takes no lock)
// is reported as pruned, not as missing files, and does not fail verify.
func TestVerifyIgnoresBackupPrunedMeanwhile(t *testing.T) {
	src, repoPath := tamperDirs(t)
	for i := range 1000 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("d%02d/f%05d", i%20, i)), "x")
	}
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "a", Source: src})
	b := mustBackup(t, BackupOptions{Repo: repoPath, Name: "b", Source: src})
	bDir := filepath.Dir(b.Tree)

	var p Progress
	retired := make(chan error, 1)
	go func() {
		for p.Entries.Load() == 0 { // a's verification has begun: b is listed
			time.Sleep(50 * time.Microsecond)
		}
		gone := bDir + ".deleting" // what prune does first
		err := os.Rename(bDir, gone)
		if err == nil {
			err = os.RemoveAll(gone)
		}
		retired <- err
	}()
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath, Jobs: 1, Progress: &p})
	if rerr := <-retired; rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		t.Fatalf("verify: %v (problems %v)", err, rep)
	}
	if len(rep.Backups) != 1 || len(rep.Pruned) != 1 || rep.Pruned[0] != "b/"+filepath.Base(bDir) || len(rep.Problems) != 0 {
		t.Fatalf("report: backups %v, pruned %v, problems %v", rep.Backups, rep.Pruned, rep.Problems)
	}
}
