package walker_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/walker"
)

var errStop = errors.New("stop here")

// TestWalkStopsOnFnError: an error from fn ends the walk at once and is
// what Walk returns.
func TestWalkStopsOnFnError(t *testing.T) {
	root := t.TempDir()
	testtree.Create(t, root, testtree.Random(2, 500))
	for _, jobs := range []int{1, 8} {
		for _, at := range []int{1, 2, 100, 500} {
			t.Run(fmt.Sprintf("jobs=%d/entry=%d", jobs, at), func(t *testing.T) {
				calls := 0
				err := walker.Walk(context.Background(), root, walker.Options{Jobs: jobs}, func(*walker.Entry) error {
					calls++
					if calls == at {
						return fmt.Errorf("entry %d: %w", calls, errStop)
					}
					return nil
				})
				if !errors.Is(err, errStop) || calls != at {
					t.Fatalf("Walk = %v after %d calls, want errStop after %d", err, calls, at)
				}
			})
		}
	}
}

// TestWalkCanceled: canceling the context ends the walk before the next
// entry and Walk returns context.Canceled.
func TestWalkCanceled(t *testing.T) {
	root := t.TempDir()
	testtree.Create(t, root, testtree.Random(3, 500))
	for _, at := range []int{0, 1, 100} { // 0: canceled before Walk
		t.Run(fmt.Sprintf("after %d", at), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if at == 0 {
				cancel()
			}
			calls := 0
			err := walker.Walk(ctx, root, walker.Options{Jobs: 4}, func(*walker.Entry) error {
				calls++
				if calls == at {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) || calls != at {
				t.Fatalf("Walk = %v after %d calls, want context.Canceled after %d", err, calls, at)
			}
		})
	}
}

// TestWalkUnreadable: OnError decides what an unreadable directory (000)
// or an unsearchable one (0400: listed, children cannot be lstat'ed) does;
// an unreadable root always aborts. Root may read anything, so as root the
// test runs in a child process as nobody.
func TestWalkUnreadable(t *testing.T) {
	if !testtree.Unprivileged(t) {
		return
	}
	tree := testtree.Dir{Entries: map[string]testtree.Node{
		"a":      testtree.File{},
		"locked": testtree.Dir{Entries: map[string]testtree.Node{"secret": testtree.File{}}},
		"noexec": testtree.Dir{Mode: 0o400, Entries: map[string]testtree.Node{
			"x": testtree.File{}, "y": testtree.Dir{},
		}},
		"z": testtree.File{},
	}}
	errAbort := errors.New("abort")
	for _, tc := range []struct {
		name    string
		lock    string // chmod 000 after Create
		onError func(string, error) error
		nilOpt  bool // leave Options.OnError nil
		want    []string
		wantErr error
	}{
		{"go on", "locked", func(string, error) error { return nil },
			false, []string{"", "a", "locked", "error locked", "noexec", "error noexec/x", "error noexec/y", "z"}, nil},
		{"abort", "locked", func(string, error) error { return errAbort },
			false, []string{"", "a", "locked", "error locked"}, errAbort},
		{"nil OnError aborts", "locked", nil,
			true, []string{"", "a", "locked"}, fs.ErrPermission},
		{"unreadable root", ".", func(string, error) error { return nil },
			false, []string{""}, fs.ErrPermission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			testtree.Create(t, root, tree)
			locked := filepath.Join(root, tc.lock)
			if err := os.Chmod(locked, 0); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(locked, 0o700); _ = os.Chmod(filepath.Join(root, "noexec"), 0o700) })
			var events []string
			opts := walker.Options{Jobs: 4}
			if !tc.nilOpt {
				opts.OnError = func(path string, err error) error {
					events = append(events, "error "+path)
					if !errors.Is(err, fs.ErrPermission) {
						t.Errorf("OnError(%q, %v), want a permission error", path, err)
					}
					return tc.onError(path, err)
				}
			}
			err := walker.Walk(context.Background(), root, opts, func(e *walker.Entry) error {
				events = append(events, e.Path)
				return nil
			})
			if !slices.Equal(events, tc.want) {
				t.Errorf("events %q, want %q", events, tc.want)
			}
			if !errors.Is(err, tc.wantErr) { // errors.Is(err, nil) means err == nil
				t.Errorf("Walk = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestWalkOneFileSystem: with OneFileSystem a mount point is reported but
// not descended into; without, it is. Needs root to mount a tmpfs.
func TestWalkOneFileSystem(t *testing.T) {
	root := t.TempDir()
	testtree.Create(t, root, testtree.Dir{Entries: map[string]testtree.Node{
		"a":   testtree.File{},
		"mnt": testtree.Dir{},
		"z":   testtree.Dir{Entries: map[string]testtree.Node{"f": testtree.File{}}},
	}})
	mnt := filepath.Join(root, "mnt")
	if err := unix.Mount("lvback-test", mnt, "tmpfs", 0, "size=1m,mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	testtree.Create(t, mnt, testtree.Dir{Entries: map[string]testtree.Node{
		"inside": testtree.File{}, "sub": testtree.Dir{Entries: map[string]testtree.Node{"deeper": testtree.File{}}},
	}})
	all := []string{"", "a", "mnt", "mnt/inside", "mnt/sub", "mnt/sub/deeper", "z", "z/f"}
	for _, tc := range []struct {
		oneFS bool
		want  []string
	}{
		{false, all},
		{true, []string{"", "a", "mnt", "z", "z/f"}},
	} {
		t.Run(fmt.Sprintf("OneFileSystem=%v", tc.oneFS), func(t *testing.T) {
			got := collect(t, root, walker.Options{Jobs: 4, OneFileSystem: tc.oneFS})
			var paths []string
			for _, e := range got {
				paths = append(paths, e.Path)
				if e.Path == "mnt" && e.Stat.Dev == got[0].Stat.Dev {
					t.Errorf("mnt reported with the root's device: not the mounted tmpfs")
				}
			}
			if !slices.Equal(paths, tc.want) {
				t.Errorf("Walk reports %q, want %q", paths, tc.want)
			}
		})
	}
}
