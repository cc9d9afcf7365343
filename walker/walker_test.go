package walker_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/walker"
)

// TestWalkMatchesWalkDir: Walk reports exactly what filepath.WalkDir finds,
// with the same lstat, symlink target and xattrs, in manifest.Compare order,
// for any number of Jobs; and it changes nothing and reads no file content.
func TestWalkMatchesWalkDir(t *testing.T) {
	trees := []struct {
		name string
		tree func(testing.TB) testtree.Dir
	}{
		{"every kind", testtree.EveryKind},
		// About 600 directories, more than Walk reads ahead (maxAhead).
		{"random 3000", func(testing.TB) testtree.Dir { return testtree.Random(1, 3000) }},
	}
	for _, tc := range trees {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			testtree.Create(t, root, tc.tree(t))
			want := walkDir(t, root)
			if !hasOrderTrap(want) {
				t.Fatal("no two paths sort differently bytewise and component-wise: the order check proves little")
			}
			for _, jobs := range []int{0, 1, 8, 8, 8} {
				got := collect(t, root, walker.Options{Jobs: jobs})
				if !checkSame(t, got, want) {
					t.Fatalf("Jobs=%d: Walk differs from WalkDir", jobs)
				}
			}
			checkNoContentRead(t, root, want)
		})
	}
}

// want is what the oracle knows of one entry.
type want struct {
	path   string
	st     unix.Stat_t
	target string
	xattrs []manifest.Xattr
}

// walkDir lists root with filepath.WalkDir, lstat, readlink and the raw
// xattr system calls: the oracle Walk is compared with. It also checks
// that WalkDir's own order (depth first, siblings by name) is
// manifest.Compare's, the order Walk promises.
func walkDir(t *testing.T, root string) []want {
	t.Helper()
	var ws []want
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		w := want{path: filepath.ToSlash(rel), xattrs: rawXattrs(t, p)}
		if w.path == "." {
			w.path = ""
		}
		if err := unix.Lstat(p, &w.st); err != nil {
			return err
		}
		if w.st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if w.target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		ws = append(ws, w)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(ws, func(a, b want) int { return manifest.Compare(a.path, b.path) }) {
		t.Fatal("WalkDir's order is not manifest.Compare's")
	}
	return ws
}

// hasOrderTrap reports whether sorting the paths bytewise would give
// another order than manifest.Compare (as "a-b" < "a/b" < "a.b" does).
func hasOrderTrap(ws []want) bool {
	paths := make([]string, len(ws))
	for i, w := range ws {
		paths[i] = w.path
	}
	return !slices.IsSorted(paths)
}

// rawXattrs lists the xattrs of path with llistxattr and lgetxattr, sorted
// by name, nil when there are none.
func rawXattrs(t *testing.T, path string) []manifest.Xattr {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		t.Fatalf("llistxattr %s: %v", path, err)
	}
	var xs []manifest.Xattr
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" {
			continue
		}
		v := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(path, name, v)
		if err != nil {
			t.Fatalf("lgetxattr %s %s: %v", path, name, err)
		}
		xs = append(xs, manifest.Xattr{Name: name, Value: v[:m]})
	}
	slices.SortFunc(xs, func(a, b manifest.Xattr) int { return strings.Compare(a.Name, b.Name) })
	return xs
}

// collect walks root and returns copies of the entries in the order fn got
// them; any error fails the test.
func collect(t *testing.T, root string, opts walker.Options) []walker.Entry {
	t.Helper()
	var got []walker.Entry
	err := walker.Walk(context.Background(), root, opts, func(e *walker.Entry) error {
		got = append(got, *e)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

// checkSame reports (and logs) whether got is strictly increasing in
// manifest.Compare order and equal, entry by entry, to want.
func checkSame(t *testing.T, got []walker.Entry, want []want) bool {
	t.Helper()
	ok := true
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		ok = false
	}
	for i := 1; i < len(got); i++ {
		if manifest.Compare(got[i-1].Path, got[i].Path) >= 0 {
			fail("%q reported after %q", got[i].Path, got[i-1].Path)
		}
	}
	if len(got) != len(want) {
		fail("%d entries, WalkDir finds %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := &got[i], &want[i]
		if g.Path != w.path {
			fail("entry %d is %q, want %q", i, g.Path, w.path)
			break
		}
		if d := statDiff(&g.Stat, &w.st); d != "" {
			fail("%q: stat differs: %s", g.Path, d)
		}
		if g.Target != w.target {
			fail("%q: target %q, want %q", g.Path, g.Target, w.target)
		}
		if !manifest.EqualXattrs(g.Xattrs, w.xattrs) {
			fail("%q: xattrs %q, want %q", g.Path, g.Xattrs, w.xattrs)
		}
	}
	return ok
}

// statDiff names the lstat fields that differ, atime excepted (reading a
// directory may change it).
func statDiff(g, w *unix.Stat_t) string {
	var d string
	for _, f := range []struct {
		name string
		g, w any
	}{
		{"dev", g.Dev, w.Dev}, {"ino", g.Ino, w.Ino}, {"mode", g.Mode, w.Mode},
		{"nlink", g.Nlink, w.Nlink}, {"uid", g.Uid, w.Uid}, {"gid", g.Gid, w.Gid},
		{"rdev", g.Rdev, w.Rdev}, {"size", g.Size, w.Size}, {"blocks", g.Blocks, w.Blocks},
		{"mtime", g.Mtim, w.Mtim}, {"ctime", g.Ctim, w.Ctim},
	} {
		if f.g != f.w {
			d += f.name + " "
		}
	}
	return d
}

// checkNoContentRead checks that no regular file's atime changed since the
// oracle's lstat: Walk must not open file contents. Create gives the files
// atime = mtime, which relatime updates on the first read; a control read
// shows whether this mount updates atimes at all.
func checkNoContentRead(t *testing.T, root string, want []want) {
	t.Helper()
	var control string
	for _, w := range want {
		if w.st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		var st unix.Stat_t
		p := filepath.Join(root, filepath.FromSlash(w.path))
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Atim != w.st.Atim {
			t.Errorf("%q: atime changed: Walk read the file", w.path)
		}
		if w.st.Size > 0 && st.Atim.Nano() <= st.Mtim.Nano() {
			control = p
		}
	}
	if control == "" {
		t.Fatal("no file to check atime updates with")
	}
	before := atime(t, control)
	if _, err := os.ReadFile(control); err != nil {
		t.Fatal(err)
	}
	if atime(t, control) == before {
		t.Logf("this mount does not update atimes: cannot tell whether Walk read files")
	}
}

func atime(t *testing.T, path string) unix.Timespec {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Atim
}

// TestWalkRootErrors: a root Walk cannot list is an error before fn is
// ever called; Walk never follows a symlink, not even at the root.
func TestWalkRootErrors(t *testing.T) {
	dir := t.TempDir()
	testtree.Create(t, dir, testtree.Dir{Entries: map[string]testtree.Node{
		"file": testtree.File{Content: []byte("x")},
		"dir":  testtree.Dir{},
		"link": testtree.Symlink{Target: "dir"},
		"fifo": testtree.FIFO{},
	}})
	for _, tc := range []struct {
		name, root string
		is         error
	}{
		{"missing", "missing", fs.ErrNotExist},
		{"regular file", "file", nil},
		{"symlink to a directory", "link", nil},
		{"fifo", "fifo", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := walker.Walk(context.Background(), filepath.Join(dir, tc.root), walker.Options{Jobs: 2},
				func(*walker.Entry) error { calls++; return nil })
			if err == nil || calls != 0 {
				t.Fatalf("Walk = %v after %d calls, want an error and no call", err, calls)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("Walk = %v, want %v", err, tc.is)
			}
		})
	}
}

// TestWalkDeepPaths: paths longer than PATH_MAX (4096 bytes) but within
// manifest.MaxPathLen are walked like any other ("lstats every child
// relative to the directory's file descriptor"), xattrs included.
func TestWalkDeepPaths(t *testing.T) {
	const depth = 50 // 50 × 251 bytes: the deepest paths are 12,550 bytes, three PATH_MAXes
	name := strings.Repeat("d", 250)
	root := t.TempDir()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{""}
	dir := ""
	for range depth { // only *at system calls reach below PATH_MAX
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = sub
		dir = strings.TrimPrefix(dir+"/"+name, "/")
		want = append(want, dir)
	}
	f, err := unix.Openat(fd, "f", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err == nil {
		err = unix.Fsetxattr(f, "user.deep", []byte("yes"), 0)
		unix.Close(f)
	}
	unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, dir+"/f")
	if len(dir) <= 4096 || len(dir)+2 > manifest.MaxPathLen {
		t.Fatalf("deepest path is %d bytes", len(dir))
	}

	var got []string
	var xattrs []manifest.Xattr
	err = walker.Walk(context.Background(), root, walker.Options{Jobs: 2}, func(e *walker.Entry) error {
		got = append(got, e.Path)
		if strings.HasSuffix(e.Path, "/f") {
			xattrs = e.Xattrs
		}
		return nil
	})
	if err != nil {
		t.Errorf("Walk: %.300v", err)
	}
	if len(got) != len(want) {
		t.Errorf("Walk reports %d of the %d entries", len(got), len(want))
	}
	if !manifest.EqualXattrs(xattrs, []manifest.Xattr{{Name: "user.deep", Value: []byte("yes")}}) {
		t.Errorf("deepest file has xattrs %q", xattrs)
	}
}
