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

	"github.com/lvback/lvback/internal/btrfs"
	"github.com/lvback/lvback/internal/btrfs/btrfstest"
	"github.com/lvback/lvback/internal/testtree"
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
func dirs(t *testing.T) (src, repoPath string) { return dirsWith(t, testLayout) }

// tamperDirs is dirs with a hard-link layout repository, for the tests
// that change a backup's tree behind lvback's back (damage, planted
// symlinks): a subvolume-layout tree is read-only, and one made writable
// is reported by verify (TestVerifyReportsWritableSubvolume).
func tamperDirs(t *testing.T) (src, repoPath string) { return dirsWith(t, repo.LayoutHardlink) }

func dirsWith(t *testing.T, layout string) (src, repoPath string) {
	base := t.TempDir()
	src = filepath.Join(base, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	repoPath = filepath.Join(base, "repo")
	if _, err := Init(repoPath, repo.Settings{Layout: layout}); err != nil {
		t.Fatal(err)
	}
	btrfstest.DeleteSubvolumesAtCleanup(t, repoPath)
	return src, repoPath
}

// testLayout is the file-tree layout the tests' repositories ask for:
// $LVBACK_TEST_LAYOUT, or "" (the default of the file system TMPDIR is
// on: make test-btrfs runs the suite on btrfs, where that is subvolume).
var testLayout = os.Getenv("LVBACK_TEST_LAYOUT")

// newRepo creates a repository at path (as `lvback init` does) and
// returns path.
func newRepo(t testing.TB, path string) string {
	t.Helper()
	if _, err := Init(path, repo.Settings{Layout: testLayout}); err != nil {
		t.Fatal(err)
	}
	btrfstest.DeleteSubvolumesAtCleanup(t, path)
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

// sharedWithPrevious reports whether the file b of a backup is the file a
// of the backup before, unchanged: the same inode (hard-link layout), or
// in the subvolume layout the snapshot's copy of that inode (the same
// inode number in another subvolume; a file written again gets a new one).
func sharedWithPrevious(t *testing.T, a, b string) bool {
	t.Helper()
	if testtree.SameInode(t, a, b) {
		return true
	}
	var sa, sb syscall.Stat_t
	if syscall.Lstat(a, &sa) != nil || syscall.Lstat(b, &sb) != nil {
		return false
	}
	onBtrfs, _ := btrfs.IsBtrfs(a)
	return onBtrfs && sa.Dev != sb.Dev && sa.Ino == sb.Ino
}
