package testtree

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Create makes the tree d describes under root, which must exist; d's own
// metadata (zero fields excepted) is applied to root itself. Entries are
// created in name order, hard links after all other nodes, directory
// metadata last and deepest first, so every described mode and mtime is the
// final one. Modes do not depend on the umask. Any failure fails the test; a
// tree with an ACL skips the test when setfacl is not installed.
func Create(t testing.TB, root string, d Dir) {
	t.Helper()
	c := &creator{t: t}
	c.entries(root, d.Entries)
	for _, l := range c.links {
		to := filepath.Join(root, filepath.FromSlash(l.to))
		if err := os.Link(to, l.path); err != nil {
			t.Fatalf("testtree: %v", err)
		}
	}
	for i := len(c.dirs) - 1; i >= 0; i-- { // children before their parents
		c.dirMeta(c.dirs[i].path, c.dirs[i].dir, false)
	}
	c.dirMeta(root, d, true)
}

// creator holds the work Create defers until all nodes exist.
type creator struct {
	t     testing.TB
	links []pendingLink // hard links, made after all other nodes
	dirs  []pendingDir  // directories in creation (pre-)order
}

type pendingLink struct{ path, to string }

type pendingDir struct {
	path string
	dir  Dir
}

func (c *creator) entries(dir string, es map[string]Node) {
	for _, name := range slices.Sorted(maps.Keys(es)) {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			c.t.Fatalf("testtree: invalid name %q in %s", name, dir)
		}
		c.node(filepath.Join(dir, name), es[name])
	}
}

func (c *creator) node(path string, n Node) {
	var err error
	switch n := n.(type) {
	case File:
		err = c.file(path, n)
	case Dir:
		if err = os.Mkdir(path, 0o700); err == nil {
			c.dirs = append(c.dirs, pendingDir{path: path, dir: n})
			c.entries(path, n.Entries)
		}
	case Symlink:
		if err = os.Symlink(n.Target, path); err == nil {
			err = c.meta(path, meta{uid: n.UID, gid: n.GID, mtime: n.Mtime, symlink: true})
		}
	case Hardlink:
		c.links = append(c.links, pendingLink{path: path, to: n.To})
	case FIFO:
		err = c.special(path, unix.S_IFIFO, 0, n.Mode, n.Mtime)
	case Socket:
		err = c.special(path, unix.S_IFSOCK, 0, n.Mode, n.Mtime)
	case Device:
		kind := uint32(unix.S_IFBLK)
		if n.Char {
			kind = unix.S_IFCHR
		}
		err = c.special(path, kind, unix.Mkdev(n.Major, n.Minor), n.Mode, n.Mtime)
		if errors.Is(err, unix.EPERM) {
			err = fmt.Errorf("%w (check CanMknod before adding a Device)", err)
		}
	default:
		err = fmt.Errorf("%s: unknown node type %T", path, n)
	}
	if err != nil {
		c.t.Fatalf("testtree: %v", err)
	}
}

func (c *creator) file(path string, f File) error {
	if !f.Sparse && (f.SparseOffset != 0 || f.SparseSize != 0 || len(f.Extra) > 0) {
		return fmt.Errorf("%s: SparseOffset, SparseSize and Extra need Sparse", path)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if f.Sparse {
		err = fh.Truncate(f.SparseSize)
		for _, x := range append([]Extent{{f.SparseOffset, f.Content}}, f.Extra...) {
			if err == nil {
				_, err = fh.WriteAt(x.Data, x.Offset)
			}
		}
	} else {
		_, err = fh.Write(f.Content)
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return c.meta(path, meta{mode: orDefault(f.Mode, 0o644), uid: f.UID, gid: f.GID,
		acl: f.ACL, xattrs: f.Xattrs, mtime: f.Mtime})
}

func (c *creator) special(path string, kind uint32, dev uint64, mode os.FileMode, mtime time.Time) error {
	if err := unix.Mknod(path, kind|0o600, int(dev)); err != nil {
		return &os.PathError{Op: "mknod", Path: path, Err: err}
	}
	return c.meta(path, meta{mode: orDefault(mode, 0o644), mtime: mtime})
}

func (c *creator) dirMeta(path string, d Dir, isRoot bool) {
	m := meta{mode: d.Mode, uid: d.UID, gid: d.GID, acl: d.ACL, xattrs: d.Xattrs, mtime: d.Mtime}
	if !isRoot {
		m.mode = orDefault(d.Mode, 0o755)
	}
	if err := c.meta(path, m); err != nil {
		c.t.Fatalf("testtree: %v", err)
	}
}

// keepID maps the ids that mean "leave it" to chown's -1.
func keepID(id int) int {
	if id <= 0 {
		return -1
	}
	return id
}

func orDefault(mode, def os.FileMode) os.FileMode {
	if mode == 0 {
		return def
	}
	return mode
}

// meta is the metadata of one node; zero fields are left alone.
type meta struct {
	mode     os.FileMode
	uid, gid int
	acl      string
	xattrs   map[string][]byte
	mtime    time.Time
	symlink  bool // never chmod, and set times on the link itself
}

// meta applies owner, ACL, mode, xattrs and mtime in that order: a chown
// clears setuid bits, setfacl rewrites the group bits, and every step but
// the last may change the ctime only.
func (c *creator) meta(path string, m meta) error {
	if m.uid > 0 || m.gid > 0 {
		if err := os.Lchown(path, keepID(m.uid), keepID(m.gid)); err != nil {
			return err
		}
	}
	if m.acl != "" {
		if _, err := exec.LookPath("setfacl"); err != nil {
			c.t.Skipf("setfacl not installed: %v", err)
		}
		if out, err := exec.Command("setfacl", "-m", m.acl, "--", path).CombinedOutput(); err != nil {
			return fmt.Errorf("setfacl -m %s %s: %v: %s", m.acl, path, err, out)
		}
	}
	if m.mode != 0 && !m.symlink {
		if err := os.Chmod(path, m.mode); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.xattrs)) {
		if err := unix.Lsetxattr(path, name, m.xattrs[name], 0); err != nil {
			return fmt.Errorf("setxattr %s %s: %w", path, name, err)
		}
	}
	if !m.mtime.IsZero() {
		ts := unix.Timespec{Sec: m.mtime.Unix(), Nsec: int64(m.mtime.Nanosecond())}
		err := unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return &os.PathError{Op: "utimensat", Path: path, Err: err}
		}
	}
	return nil
}
