package fileops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
)

// testNode is one object of a test tree, its path relative to the test's
// root directory. A symlink's target starting with "/" is made absolute under
// the root; a hard link's target is relative to the root.
type testNode struct {
	path   string
	kind   byte // 'd' directory, 'f' file, 'l' symlink, 'h' hard link, 'p' FIFO
	target string
	mode   fs.FileMode // directories only; set once the whole tree exists
}

// removalTree has read-only, unreadable and write-only directories, symlinks
// and a hard link to objects outside "tree" that must survive its removal.
var removalTree = []testNode{
	{path: "outside", kind: 'd', mode: 0o755},
	{path: "outside/target.txt", kind: 'f'},
	{path: "outside/dir", kind: 'd', mode: 0o755},
	{path: "outside/dir/keep.txt", kind: 'f'},
	{path: "tree", kind: 'd', mode: 0o755},
	{path: "tree/ro", kind: 'd', mode: 0o500},
	{path: "tree/ro/f1", kind: 'f'},
	{path: "tree/ro/f2", kind: 'f'},
	{path: "tree/ro/out", kind: 'l', target: "/outside/dir"},
	{path: "tree/ro/sub", kind: 'd', mode: 0o500},
	{path: "tree/ro/sub/f3", kind: 'f'},
	{path: "tree/none", kind: 'd', mode: 0},
	{path: "tree/none/x", kind: 'f'},
	{path: "tree/wo", kind: 'd', mode: 0o300},
	{path: "tree/wo/y", kind: 'f'},
	{path: "tree/a", kind: 'd', mode: 0o755},
	{path: "tree/a/b", kind: 'd', mode: 0o700},
	{path: "tree/a/b/c", kind: 'd', mode: 0o555},
	{path: "tree/a/b/c/deep.txt", kind: 'f'},
	{path: "tree/link-file", kind: 'l', target: "/outside/target.txt"},
	{path: "tree/link-dir", kind: 'l', target: "../outside/dir"},
	{path: "tree/hard", kind: 'h', target: "tree/a/b/c/deep.txt"},
	{path: "tree/hard-out", kind: 'h', target: "outside/target.txt"},
	{path: "tree/fifo", kind: 'p'},
}

// manyFiles returns a directory "tree/many" of dirs directories with files
// files each.
func manyFiles(dirs, files int) []testNode {
	nodes := []testNode{{path: "tree/many", kind: 'd', mode: 0o755}}
	for d := range dirs {
		dir := fmt.Sprintf("tree/many/d%03d", d)
		nodes = append(nodes, testNode{path: dir, kind: 'd', mode: 0o755})
		for f := range files {
			nodes = append(nodes, testNode{path: fmt.Sprintf("%s/f%04d", dir, f), kind: 'f'})
		}
	}
	return nodes
}

// createTree creates nodes under root, parents listed before children.
func createTree(t *testing.T, root string, nodes []testNode) {
	t.Helper()
	for _, n := range nodes {
		p := filepath.Join(root, n.path)
		var err error
		switch n.kind {
		case 'd':
			err = os.Mkdir(p, 0o755)
		case 'f':
			err = os.WriteFile(p, []byte(n.path), 0o644)
		case 'l':
			target := n.target
			if filepath.IsAbs(target) {
				target = filepath.Join(root, target)
			}
			err = os.Symlink(target, p)
		case 'h':
			err = os.Link(filepath.Join(root, n.target), p)
		case 'p':
			err = unix.Mkfifo(p, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range slices.Backward(nodes) {
		if n.kind == 'd' {
			if err := os.Chmod(filepath.Join(root, n.path), n.mode); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkRemoved fails t if root/tree exists or if anything under root/outside
// changed.
func checkRemoved(t *testing.T, root string) {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(root, "tree")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("tree still exists: %v", err)
	}
	for _, n := range removalTree[:4] {
		p := filepath.Join(root, n.path)
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
			t.Errorf("outside the tree: %v", err)
		case n.kind == 'd' && fi.Mode() != fs.ModeDir|n.mode:
			t.Errorf("outside the tree: %s has mode %v", n.path, fi.Mode())
		case n.kind == 'f' && string(readAll(t, p)) != n.path:
			t.Errorf("outside the tree: %s changed", n.path)
		}
	}
}

func TestRemoveTree(t *testing.T) {
	root := t.TempDir()
	createTree(t, root, append(slices.Clone(removalTree), manyFiles(20, 50)...))
	if err := RemoveTree(filepath.Join(root, "tree"), 4); err != nil {
		t.Fatal(err)
	}
	checkRemoved(t, root)
}

// TestRemoveTreeUnprivileged checks the directory permission handling, which
// root bypasses.
func TestRemoveTreeUnprivileged(t *testing.T) {
	if !runsUnprivileged(t) {
		return
	}
	root := t.TempDir()
	createTree(t, root, removalTree)
	if err := RemoveTree(filepath.Join(root, "tree"), 2); err != nil {
		t.Fatal(err)
	}
	checkRemoved(t, root)
}

func TestRemoveTreeNotADirectory(t *testing.T) {
	root := t.TempDir()
	createTree(t, root, []testNode{
		{path: "dir", kind: 'd', mode: 0o755},
		{path: "dir/f", kind: 'f'},
		{path: "file", kind: 'f'},
		{path: "link", kind: 'l', target: "/dir"},
	})
	for _, name := range []string{"missing", "link", "file", "missing/below"} {
		p := filepath.Join(root, name)
		if err := RemoveTree(p, 2); err != nil {
			t.Errorf("RemoveTree(%s): %v", name, err)
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists: %v", name, err)
		}
	}
	if string(readAll(t, filepath.Join(root, "dir/f"))) != "dir/f" {
		t.Error("removing a symlink changed its target")
	}
}

// TestRemoveTreeFails checks that an entry that cannot be removed stops the
// removal with an error instead of a hang, with more files queued than the
// workers' channel holds.
func TestRemoveTreeFails(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot make a file immutable")
	}
	testsys.RequireTools(t, "chattr")
	root := t.TempDir()
	createTree(t, root, append([]testNode{{path: "tree", kind: 'd', mode: 0o755}}, manyFiles(3, 500)...))
	stuck := filepath.Join(root, "tree/many/d001/f0250")
	testsys.Run(t, "chattr", "+i", stuck)
	t.Cleanup(func() { testsys.Run(t, "chattr", "-i", stuck) })

	done := make(chan error, 1)
	go func() { done <- RemoveTree(filepath.Join(root, "tree"), 3) }()
	select {
	case err := <-done:
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("RemoveTree: %v, want a permission error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("RemoveTree hangs after an unlink failed")
	}
	if _, err := os.Lstat(stuck); err != nil {
		t.Errorf("immutable file: %v", err)
	}
}
