package engine

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/retention"
)

// Odd tree shapes back up, verify, restore and prune exactly: a directory chain
// 1,000 levels deep, names of 255 bytes (the most ext4 allows), and paths
// longer than 4,000 bytes (absolute paths in the source, the repository and
// the restore target exceed PATH_MAX).
func TestOddShapes(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, root string)
		diff  func(t testing.TB, a, b string) string // the oracle; nil means rsync
	}{
		{"1000 levels deep", func(t *testing.T, root string) {
			mkdirChain(t, root, repeatNames("d", 1000), "bottom", "the end")
		}, findDiff}, // rsync takes 10 s per comparison of this tree
		{"255-byte names", func(t *testing.T, root string) {
			long := strings.Repeat("n", 255)
			mkdirChain(t, root, []string{long, strings.Repeat("é", 127) + "x"}, long, "long names")
			writeFile(t, filepath.Join(root, strings.Repeat("f", 255)), "top")
			testsys.Must(t, unix.Symlink(strings.Repeat("t", 255), filepath.Join(root, strings.Repeat("s", 255))))
		}, nil},
		{"4000-byte paths", func(t *testing.T, root string) {
			names := repeatNames(strings.Repeat("p", 199), 19) // 19 x 200 bytes, and a file of 200
			mkdirChain(t, root, names, strings.Repeat("f", 200), "deep content")
			hard := append(names[:18:18], "hard")
			mkdirChain(t, root, hard, "link-a", "linked")
			testsys.Must(t, unix.Linkat(openPath(t, root, hard), "link-a", openPath(t, root, hard), "link-b", 0))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, repoPath := dirs(t)
			tt.build(t, src)
			if tt.diff == nil {
				tt.diff = testtree.RsyncDiff
			}
			res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
			if d := tt.diff(t, src, res.Tree); d != "" {
				t.Fatalf("backup differs:\n%s", d)
			}
			mustVerifyClean(t, repoPath)
			second := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
			if second.Info.Copied != 0 {
				t.Errorf("second backup copied %d files, want all linked", second.Info.Copied)
			}
			target := filepath.Join(t.TempDir(), "restored")
			if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target}); err != nil {
				t.Fatalf("restore: %v", err)
			}
			if d := tt.diff(t, src, target); d != "" {
				t.Fatalf("restored tree differs:\n%s", d)
			}
			if _, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}}); err != nil {
				t.Fatalf("prune: %v", err)
			}
			if bs := backupsOf(t, repoPath, "vol"); len(bs) != 1 {
				t.Fatalf("after prune: %+v", bs)
			}
			mustVerifyClean(t, repoPath)
		})
	}
}

func repeatNames(name string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = name
	}
	return out
}

// mkdirChain creates root/dirs[0]/dirs[1]/... one level at a time (the
// whole path may exceed PATH_MAX) and a file in the last directory.
func mkdirChain(t *testing.T, root string, dirs []string, file, content string) {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	testsys.Must(t, err)
	for _, d := range dirs {
		if err := unix.Mkdirat(fd, d, 0o755); err != nil && err != unix.EEXIST {
			t.Fatalf("mkdir %s: %v", d, err)
		}
		next, err := unix.Openat(fd, d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		testsys.Must(t, err)
		fd = next
	}
	defer unix.Close(fd)
	f, err := unix.Openat(fd, file, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	testsys.Must(t, err)
	_, err = unix.Write(f, []byte(content))
	testsys.Must(t, err)
	unix.Close(f)
}

// openPath opens root/dirs... one level at a time; t's end closes it.
func openPath(t *testing.T, root string, dirs []string) int {
	t.Helper()
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	testsys.Must(t, err)
	for _, d := range dirs {
		next, err := unix.Openat(fd, d, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		testsys.Must(t, err)
		fd = next
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// findDiff compares two trees by find's listing of every entry (type,
// mode, owner, mtime to the nanosecond, size, link count, symlink target)
// and sha256sum of every file, or returns "" when they are the same.
func findDiff(t testing.TB, a, b string) string {
	listA, listB := findListing(t, a), findListing(t, b)
	if listA == listB {
		return ""
	}
	la, lb := strings.Split(listA, "\n"), strings.Split(listB, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("first difference:\n%s: %.300s\n%s: %.300s", a, la[i], b, lb[i])
		}
	}
	return fmt.Sprintf("%s has %d entries, %s has %d", a, len(la), b, len(lb))
}

func findListing(t testing.TB, dir string) string {
	t.Helper()
	run := func(args ...string) string {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir // relative names: find and sha256sum cope with any depth
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q in %s: %v", args, dir, err)
		}
		return string(out)
	}
	list := run("find", ".", "-printf", "%y %#m %U:%G %T@ %s %n %l %P\n")
	sums := run("sh", "-c", "find . -type f -print0 | sort -z | xargs -0r sha256sum")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n" + sums
}
