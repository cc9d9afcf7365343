package engine

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pkg/xattr"
	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
)

// After a backup whose files all predate it by more than raceWindow, the
// next backup skips listing the xattrs of unchanged inodes that had none,
// yet still sees xattrs added to or removed from any file (ctime moves).
func TestXattrsOfUnchangedInodesNotRead(t *testing.T) {
	src, repoPath := dirs(t)
	for _, n := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(src, n), n)
	}
	if err := xattr.LSet(filepath.Join(src, "c"), "user.keep", []byte("1")); err != nil {
		t.Skipf("no user xattrs here: %v", err)
	}
	later := func() time.Time { return time.Now().Add(time.Hour) } // every ctime is old for it
	o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Now: later}
	first := mustBackup(t, o)

	r := &fileRun{prev: &backupsOf(t, repoPath, "vol")[0], prevStart: later().UnixNano()}
	known := r.xattrsKnownEmpty()
	stat := func(n string) *unix.Stat_t {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(src, n), &st); err != nil {
			t.Fatal(err)
		}
		return &st
	}
	if !known(stat("a")) || known(stat("c")) {
		t.Fatalf("known empty: a %v (want true), c %v (want false)", known(stat("a")), known(stat("c")))
	}

	testsys.Must(t, xattr.LSet(filepath.Join(src, "a"), "user.new", []byte("x")))
	testsys.Must(t, xattr.LRemove(filepath.Join(src, "c"), "user.keep"))
	if known(stat("a")) {
		t.Error("a file whose xattrs changed still counts as known empty")
	}
	second := mustBackup(t, o)
	if d := testtree.RsyncDiff(t, src, second.Tree); d != "" {
		t.Errorf("second backup differs from the source:\n%s", d)
	}
	if got, err := xattr.LGet(filepath.Join(second.Tree, "a"), "user.new"); err != nil || string(got) != "x" {
		t.Errorf("added xattr not backed up: %q %v", got, err)
	}
	if _, err := xattr.LGet(filepath.Join(first.Tree, "a"), "user.new"); err == nil {
		t.Error("the first backup's file gained the new xattr")
	}
}
