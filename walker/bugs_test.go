package walker_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/walker"
)

// The tests in this file fail against walker as of this writing; each names
// the promise it checks.

// TestWalkPanicLeavesNoGoroutines: a panic in fn unwinds through Walk
// without leaving its readers running ("No goroutine outlives the call").
func TestWalkPanicLeavesNoGoroutines(t *testing.T) {
	root := t.TempDir()
	testtree.Create(t, root, testtree.Random(5, 200))
	before := runtime.NumGoroutine()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		_ = walker.Walk(context.Background(), root, walker.Options{Jobs: 4}, func(*walker.Entry) error {
			panic("fn failed")
		})
	}()
	if n, leaked := leakedGoroutines(before); leaked {
		t.Fatalf("%d goroutines after Walk panicked, %d before", n, before)
	}
}

// TestWalkDeepPaths: paths longer than PATH_MAX (4096 bytes) but within
// manifest.MaxPathLen are walked like any other ("lstats every child
// relative to the directory's file descriptor"), xattrs included.
func TestWalkDeepPaths(t *testing.T) {
	const depth = 20 // 20 × 251 bytes: the deepest paths are about 5,000 bytes
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
