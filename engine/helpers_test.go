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

// childSpec is an operation a test runs in a child process (to kill it,
// or to run it as another user).
type childSpec struct {
	Op     string // "backup" or "prune"
	Backup BackupOptions
	Prune  PruneOptions
}

// TestMain lets tests run an operation in a child process: with
// LVBACK_TEST_CHILD set, the test binary performs it and exits.
func TestMain(m *testing.M) {
	if spec := os.Getenv("LVBACK_TEST_CHILD"); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

func runChild(spec string) int {
	var c childSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch c.Op {
	case "backup":
		_, err = Backup(ctx, c.Backup)
	case "prune":
		_, err = Prune(ctx, c.Prune)
	default:
		err = fmt.Errorf("unknown op %q", c.Op)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// childBackup returns a command that runs Backup(o) in a new process.
func childBackup(t *testing.T, o BackupOptions) *exec.Cmd {
	return childCmd(t, childSpec{Op: "backup", Backup: o})
}

func childCmd(t *testing.T, c childSpec) *exec.Cmd {
	spec, err := json.Marshal(c)
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

// dirs makes a source directory and a new repository in a fresh temp dir.
func dirs(t *testing.T) (src, repoPath string) {
	base := t.TempDir()
	src = filepath.Join(base, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	return src, newRepo(t, filepath.Join(base, "repo"))
}

// newRepo creates a repository at path (as `lvback init` does) and
// returns path.
func newRepo(t testing.TB, path string) string {
	t.Helper()
	if _, err := Init(path, 0); err != nil {
		t.Fatal(err)
	}
	return path
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

type syscallStat = syscall.Stat_t

// statBlocks returns the 512-byte blocks allocated to path.
func statBlocks(t *testing.T, path string, st *syscall.Stat_t) int64 {
	t.Helper()
	if err := syscall.Stat(path, st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks
}

func repoOpen(path string) (*repo.Repo, error) { return repo.Open(path) }
