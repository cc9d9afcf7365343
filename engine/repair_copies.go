package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// Where verify --repair finds the intact copy of a damaged inode: another
// inode of the repository recorded with the same content, or the file at
// the same path under --source; each read beneath its root.

// candidate is a file whose content may heal a damaged inode.
type candidate struct {
	label string                   // its full path, for the report
	open  func() (*os.File, error) // opens it beneath its root
}

func treeCandidate(n treeName) candidate {
	return candidate{label: n.abs(), open: func() (f *os.File, err error) {
		err = withTree(n.b, func(t *fileops.Tree) error {
			f, err = openRegular(t, n.path)
			return err
		})
		return f, err
	}}
}

// healSource is --source, opened once for a repair. Its files are read
// beneath it, never through a symlink below it; the path itself is the
// user's, and a symlink naming it is followed.
type healSource struct {
	path string
	tree *fileops.Tree // nil: err says why
	err  error
}

func openHealSource(path string) *healSource {
	if path == "" {
		return &healSource{err: errors.New("no --source given")}
	}
	real, err := filepath.EvalSymlinks(path)
	var t *fileops.Tree
	if err == nil {
		t, err = fileops.OpenTree(real)
	}
	if err != nil {
		return &healSource{path: path, err: fmt.Errorf("--source: %w", err)}
	}
	return &healSource{path: path, tree: t}
}

func (s *healSource) close() {
	if s.tree != nil {
		s.tree.Close()
	}
}

// candidate returns the source's file at the tree path p.
func (s *healSource) candidate(p string) candidate {
	return candidate{label: filepath.Join(s.path, filepath.FromSlash(p)),
		open: func() (*os.File, error) { return openRegular(s.tree, p) }}
}

// writeIntact copies d's content to a new, fsynced temporary file in dir
// (the directory of d's first name), with the manifest's metadata, from
// the first candidate whose content hashes to the manifest's hash:
// another inode of the repository (copies), else the file at the same
// path under src. It returns the temporary file's name, what it read, and
// a note; errNotHealed says why no candidate would do, and nothing was
// left behind.
func (v *verifier) writeIntact(ctx context.Context, dir *fileops.Dir, d *damagedInode, copies healCopies, src *healSource) (tmp, from, note string, err error) {
	var cands []candidate
	whys := slices.Clone(copies.refused)
	for _, c := range copies.names {
		st, err := lstatName(c)
		switch {
		case err != nil:
			whys = append(whys, err.Error())
		case !v.isDamaged(devIno{st.Dev, st.Ino}):
			cands = append(cands, treeCandidate(c))
		}
	}
	if len(cands) == 0 {
		whys = append(whys, fmt.Sprintf("no other backup of %s holds content %x", d.name, d.e.Hash[:8]))
	}
	if src.err != nil {
		whys = append(whys, src.err.Error())
	} else {
		for _, p := range d.paths() {
			cands = append(cands, src.candidate(p))
		}
	}
	for _, c := range cands {
		tmp, note, err := copyIntact(ctx, dir, c, d.e)
		if err == nil {
			return tmp, c.label, note, nil
		}
		if ctx.Err() != nil {
			return "", "", "", ctx.Err()
		}
		whys = append(whys, err.Error())
	}
	return "", "", "", fmt.Errorf("%w: %s", errNotHealed, strings.Join(whys, "; "))
}

func (v *verifier) isDamaged(k devIno) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, bad := v.damaged[k]
	return bad
}

// healCopies are the other inodes of one content hash.
type healCopies struct {
	names   []treeName // up to maxHealCopies, newest backup first
	refused []string   // names not looked at: a symlink on the way
}

// findCopies returns, for each content hash of found, up to maxHealCopies
// other inodes of the same volume whose manifests record that hash,
// newest backup first: the candidates repair copies from (hashed again
// while copied). Inodes found damaged are left out.
func findCopies(ctx context.Context, r *repo.Repo, found []*damagedInode) (map[[32]byte]healCopies, error) {
	want := map[string]map[[32]byte]bool{}
	bad := map[devIno]bool{}
	for _, d := range found {
		if want[d.name] == nil {
			want[d.name] = map[[32]byte]bool{}
		}
		want[d.name][d.e.Hash] = true
		bad[d.key] = true
	}
	out := map[[32]byte]healCopies{}
	for name, hashes := range want {
		bs, err := r.Backups(name)
		if err != nil {
			return nil, err
		}
		c := copyScan{want: hashes, bad: bad, out: out, seen: map[devIno]bool{}}
		for i := len(bs) - 1; i >= 0; i-- {
			if bs[i].Complete && !bs[i].Blocks() {
				if err := c.scan(ctx, &bs[i]); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// copyScan collects the copies of one volume name.
type copyScan struct {
	want map[[32]byte]bool
	bad  map[devIno]bool // damaged inodes, never a copy
	seen map[devIno]bool // inodes already collected
	out  map[[32]byte]healCopies
}

// scan reads b's manifest for files with a wanted hash and looks at them
// beneath b's tree. A manifest or tree that cannot be read holds no
// copies; only a cancelled ctx is an error.
func (c *copyScan) scan(ctx context.Context, b *repo.Backup) error {
	mr, err := manifest.Open(b.ManifestPath())
	if err != nil {
		return nil
	}
	defer mr.Close()
	tree, err := fileops.OpenTree(b.TreePath())
	if err != nil {
		return nil
	}
	defer tree.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := mr.Next()
		if err != nil {
			return nil
		}
		hc := c.out[e.Hash]
		if e.Type != manifest.TypeFile || !c.want[e.Hash] || len(hc.names) >= maxHealCopies {
			continue
		}
		n := treeName{b: b, path: e.Path}
		var st unix.Stat_t
		err = tree.Lstat(e.Path, &st)
		var se *fileops.SymlinkError
		if errors.As(err, &se) {
			hc.refused = append(hc.refused, fmt.Sprintf("%s: %v", n.ref(), se))
			c.out[e.Hash] = hc
			continue
		}
		k := devIno{st.Dev, st.Ino}
		if err != nil || c.bad[k] || c.seen[k] {
			continue
		}
		c.seen[k] = true
		hc.names = append(hc.names, n)
		c.out[e.Hash] = hc
	}
}
