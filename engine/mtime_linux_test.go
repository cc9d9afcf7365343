package engine

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
)

// mtimeNode is one object of TestMtimesBeyondNanoseconds' tree.
type mtimeNode struct {
	path  string // relative to the tree root; "" is the root
	kind  string // "file", "dir" or "symlink"
	mtime unix.Timespec
}

// utc returns the timespec of a UTC wall-clock time.
func utc(year int, month time.Month, day, hour, min, sec, nsec int) unix.Timespec {
	tm := time.Date(year, month, day, hour, min, sec, nsec, time.UTC)
	return unix.Timespec{Sec: tm.Unix(), Nsec: int64(tm.Nanosecond())}
}

// Mtimes outside what int64 nanoseconds can hold (before 1677-09-21, after
// 2262-04-11) and their nanoseconds survive backup, verify, a second backup
// and restore of files, directories and symlinks on every file system, as
// far as the file system keeps them: the backup tree and the restored tree
// get the source's mtime to the nanosecond. Each file system must keep every
// mtime within its range exactly: tmpfs and btrfs all int64 seconds, ext4
// with 256-byte inodes 1901-2446, XFS with bigtime 1901-2486. It clamps the
// others, which the test logs.
func TestMtimesBeyondNanoseconds(t *testing.T) {
	nodes := []mtimeNode{
		{"", "dir", utc(2300, 1, 1, 0, 0, 0, 123456789)},
		{"f2300", "file", utc(2300, 6, 1, 12, 0, 0, 1)},
		{"f2446", "file", utc(2446, 1, 2, 3, 4, 5, 999999999)},
		{"f1600", "file", utc(1600, 6, 15, 12, 0, 0, 500000000)},
		{"f-1ns", "file", utc(1969, 12, 31, 23, 59, 59, 999999999)},
		{"fmax", "file", unix.Timespec{Sec: math.MaxInt64, Nsec: 0}},
		{"fmin", "file", unix.Timespec{Sec: math.MinInt64, Nsec: 0}},
		{"d2446", "dir", utc(2446, 3, 4, 5, 6, 7, 8)},
		{"d2446/f", "file", utc(2300, 1, 1, 0, 0, 0, 0)},
		{"d1600", "dir", utc(1600, 1, 1, 0, 0, 0, 999999999)},
		{"s2300", "symlink", utc(2300, 12, 31, 23, 59, 59, 999999999)},
		{"s2446", "symlink", utc(2446, 2, 3, 4, 5, 6, 7)},
		{"s1600", "symlink", utc(1600, 2, 29, 0, 0, 0, 1)},
	}
	const (
		min32     = math.MinInt32 // 1901-12-13T20:45:52Z
		ext4Max   = 15032385535   // 2446-05-10T22:38:55Z
		xfsBigMax = 16299260424   // 2486-07-02T20:20:24Z
	)
	for _, fs := range []struct {
		name     string
		mount    func(t *testing.T) string
		min, max int64 // the seconds the file system keeps
	}{
		{"tmpfs", func(t *testing.T) string {
			return testsys.MountTmpfs(t, 64<<20)
		}, math.MinInt64, math.MaxInt64},
		{"btrfs", func(t *testing.T) string {
			return testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, 256<<20)
		}, math.MinInt64, math.MaxInt64},
		{"ext4", func(t *testing.T) string {
			return testsys.MountImage(t, []string{"mkfs.ext4", "-q", "-F", "-I", "256"}, 32<<20)
		}, min32, ext4Max},
		{"xfs-bigtime", func(t *testing.T) string {
			return testsys.MountImage(t, []string{"mkfs.xfs", "-q", "-f", "-m", "bigtime=1"}, 300<<20)
		}, min32, xfsBigMax},
	} {
		t.Run(fs.name, func(t *testing.T) {
			mnt := fs.mount(t)
			src, repoPath := filepath.Join(mnt, "src"), newRepo(t, filepath.Join(mnt, "repo"))
			createMtimeTree(t, src, nodes)
			for _, n := range nodes {
				got := lstatMtime(t, filepath.Join(src, n.path))
				switch {
				case got == n.mtime:
				case n.mtime.Sec >= fs.min && n.mtime.Sec <= fs.max:
					t.Fatalf("%s keeps %q's mtime %s as %s", fs.name, n.path, tsString(n.mtime), tsString(got))
				default:
					t.Logf("%s clamps %q's mtime %s to %s", fs.name, n.path, tsString(n.mtime), tsString(got))
				}
			}

			res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
			sameMtimes(t, src, res.Tree, nodes)
			mustVerifyClean(t, repoPath)
			second := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
			if second.Info.Copied != 0 {
				t.Errorf("second backup copied %d files, want all linked", second.Info.Copied)
			}
			sameMtimes(t, src, second.Tree, nodes)
			mustVerifyClean(t, repoPath)

			target := filepath.Join(mnt, "restored")
			if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target}); err != nil {
				t.Fatalf("restore: %v", err)
			}
			sameMtimes(t, src, target, nodes)
		})
	}
}

// createMtimeTree creates nodes under root (symlinks dangle), then sets
// their mtimes and atimes, children before their directory.
func createMtimeTree(t *testing.T, root string, nodes []mtimeNode) {
	t.Helper()
	testsys.Must(t, os.Mkdir(root, 0o755))
	for _, n := range nodes {
		p := filepath.Join(root, n.path)
		switch {
		case n.path == "":
		case n.kind == "dir":
			testsys.Must(t, os.Mkdir(p, 0o755))
		case n.kind == "symlink":
			testsys.Must(t, os.Symlink("target-of-"+n.path, p))
		default:
			testsys.Must(t, os.WriteFile(p, []byte(n.path), 0o644))
		}
	}
	for i := len(nodes) - 1; i >= 0; i-- { // parents come first in nodes
		n := nodes[i]
		ts := []unix.Timespec{n.mtime, n.mtime}
		testsys.Must(t, unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(root, n.path), ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// sameMtimes fails t unless every node has the same mtime, seconds and
// nanoseconds, in got as in src.
func sameMtimes(t *testing.T, src, got string, nodes []mtimeNode) {
	t.Helper()
	for _, n := range nodes {
		want, have := lstatMtime(t, filepath.Join(src, n.path)), lstatMtime(t, filepath.Join(got, n.path))
		if have != want {
			t.Errorf("%s: mtime %s, source has %s", filepath.Join(got, n.path), tsString(have), tsString(want))
		}
	}
}

func lstatMtime(t *testing.T, path string) unix.Timespec {
	t.Helper()
	var st unix.Stat_t
	testsys.Must(t, unix.Lstat(path, &st))
	return st.Mtim
}

// tsString shows a timespec as seconds.nanoseconds and, where time.Time can
// hold it, as a date.
func tsString(ts unix.Timespec) string {
	date := "beyond time.Time"
	if ts.Sec > -1<<62 && ts.Sec < 1<<62 {
		date = time.Unix(ts.Sec, ts.Nsec).UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%d.%09d (%s)", ts.Sec, ts.Nsec, date)
}
