package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lvback/lvback/repo"
)

// TestMain lets tests run a backup in a child process (to SIGKILL it, or
// to run it as another user): with LVBACK_TEST_CHILD set, the test binary
// performs that backup and exits.
func TestMain(m *testing.M) {
	if spec := os.Getenv("LVBACK_TEST_CHILD"); spec != "" {
		var o BackupOptions
		if err := json.Unmarshal([]byte(spec), &o); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if _, err := Backup(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childBackup returns a command that runs Backup(o) in a new process.
func childBackup(t *testing.T, o BackupOptions) *exec.Cmd {
	spec, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LVBACK_TEST_CHILD="+string(spec))
	return cmd
}

func mustBackup(t *testing.T, o BackupOptions) *Result {
	t.Helper()
	res, err := Backup(context.Background(), o)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return res
}

func mustVerifyClean(t *testing.T, repoPath string) *VerifyReport {
	t.Helper()
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath})
	if err != nil {
		if rep != nil {
			for _, p := range rep.Problems {
				t.Log(p)
			}
		}
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// dirs makes a source and a repository path in a fresh temp dir.
func dirs(t *testing.T) (src, repoPath string) {
	base := t.TempDir()
	src = filepath.Join(base, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	return src, filepath.Join(base, "repo")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func backupsOf(t *testing.T, repoPath, name string) []repo.Backup {
	t.Helper()
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := r.Backups(name)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func isRoot() bool { return os.Geteuid() == 0 }

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
