package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/walker"
)

// VerifyOptions chooses the backups to verify: all complete backups of all
// names by default, of one Name, or one ID of that name.
type VerifyOptions struct {
	Repo string
	Name string
	ID   string
	Jobs int
	Log  *slog.Logger
	// ReadFraction is the share of a block-mode backup's chunks that are
	// read and re-hashed (the rest are only checked for presence and
	// length); 0 means all of them. File-mode backups are always read whole.
	ReadFraction float64
	// Progress, when set, counts entries checked and bytes hashed; the
	// expected total is the sum of the chosen backups' sizes.
	Progress *Progress
	// Repair takes the repository lock and replaces each damaged file, in
	// every backup sharing its inode, with an intact copy (see Verify).
	Repair bool
	// Source, with Repair, is a directory whose file at a damaged file's
	// path may serve as the intact copy (it is hashed before use).
	Source string
}

// Problem is one thing wrong in a backup.
type Problem struct {
	Backup string `json:"backup"` // NAME/ID
	Path   string `json:"path"`   // entry path inside the tree ("" is the root)
	Kind   string `json:"kind"`   // missing, extra, corrupt, metadata, manifest
	Detail string `json:"detail"`
}

func (p Problem) String() string {
	path := p.Path
	if path == "" {
		path = "."
	}
	return fmt.Sprintf("%s: %s %q: %s", p.Backup, p.Kind, path, p.Detail)
}

// VerifyReport is the outcome of Verify. It is clean when Problems is empty.
type VerifyReport struct {
	Backups  []string  `json:"backups"`
	Entries  int64     `json:"entries"`
	Bytes    int64     `json:"bytes"` // file bytes re-read and hashed
	Problems []Problem `json:"problems"`
	// Pruned lists backups a concurrent prune removed while they were
	// being verified: their missing files are no problem, and they are
	// not in Backups.
	Pruned []string `json:"pruned,omitempty"`
	// Damaged is how many damaged inodes this call recorded in the
	// repository's damaged list (repo.DamagedFile).
	Damaged int `json:"damaged_recorded"`
	// Repair is what Repair did; nil without it.
	Repair *RepairReport `json:"repair,omitempty"`
}

// ErrVerifyFailed means Verify found at least one problem.
var ErrVerifyFailed = errors.New("verification found problems")

// Verify re-reads the chosen backups: every file is re-hashed with BLAKE3
// and every entry's type, size, mode, owner, mtime, xattrs, symlink target
// and hard links are checked against the manifest; entries missing from the
// tree or not in the manifest are reported too. A file shared by hard links
// with other backups is hashed once and a corruption is reported in every
// verified backup that holds it. Only complete backups are verified.
//
// Every inode found with the wrong content (or unreadable) is recorded in
// the repository's damaged list, so the next backup copies instead of
// linking it; recorded inodes found intact again, or gone, are dropped.
// With Repair, the repository lock is held throughout and each damaged
// inode is replaced in every backup of its volume that holds it: a new
// inode with the manifest's content (copied from another inode of the
// repository, or from Source, whichever hashes right first) and metadata
// is renamed over each of its names, so no intact inode ever changes. The
// error is then nil only when everything found was healed.
func Verify(ctx context.Context, o VerifyOptions) (*VerifyReport, error) {
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs()
	}
	if o.ReadFraction <= 0 || o.ReadFraction > 1 {
		o.ReadFraction = 1
	}
	r, err := repo.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	if o.Repair {
		unlock, err := lockUnlessHeld(r, false)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	backups, err := chooseBackups(r, o.Name, o.ID)
	if err != nil {
		return nil, err
	}
	var blocksHealed []Heal
	if o.Repair {
		if blocksHealed, err = healBlocksFirst(ctx, r, o, backups); err != nil {
			return nil, err
		}
	}
	var total int64
	for _, b := range backups {
		total += b.Info.Size
	}
	o.Progress.expect(total)
	v := &verifier{progress: o.Progress, jobs: o.Jobs, hashed: make(map[devIno]hashKey),
		failed: make(map[devIno]string), problems: []Problem{}, blocksHealed: blocksHealed}
	rep := &VerifyReport{Backups: []string{}, Problems: []Problem{}}
	pruned := map[string]bool{}
	for i := range backups {
		b := &backups[i]
		name := b.Name + "/" + b.ID
		verify := func() error { return v.verifyBackup(ctx, b) }
		if b.Blocks() {
			verify = func() error { return v.verifyBlocks(ctx, r, b, o.ReadFraction) }
		}
		err := verify()
		if prunedMeanwhile(b) {
			pruned[name] = true
			rep.Pruned = append(rep.Pruned, name)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", name, err)
		}
		rep.Backups = append(rep.Backups, name)
	}
	v.annotateShared()
	rep.Entries, rep.Bytes = v.entries, v.bytes
	for _, p := range v.problems {
		if !pruned[p.Backup] {
			rep.Problems = append(rep.Problems, p)
		}
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool {
		a, b := rep.Problems[i], rep.Problems[j]
		if a.Backup != b.Backup {
			return a.Backup < b.Backup
		}
		return manifest.Compare(a.Path, b.Path) < 0
	})
	if err := v.recordAndRepair(ctx, r, o, backups, pruned, rep); err != nil {
		return rep, err
	}
	return rep, verifyError(rep)
}

// prunedMeanwhile reports whether b's directory is gone: a prune (which
// takes the repository lock, and verify does not) retired it while it was
// verified, first renaming it away in one step. What verify found missing
// in it then says nothing about the repository's health.
func prunedMeanwhile(b *repo.Backup) bool {
	_, err := os.Lstat(b.Dir)
	return errors.Is(err, fs.ErrNotExist)
}

// chooseBackups returns the complete backups selected by name and id.
func chooseBackups(r *repo.Repo, name, id string) ([]repo.Backup, error) {
	if id != "" && name == "" {
		return nil, errors.New("--id needs --name")
	}
	names := []string{name}
	if name == "" {
		var err error
		if names, err = r.Names(); err != nil {
			return nil, err
		}
	}
	var out []repo.Backup
	for _, n := range names {
		bs, err := r.Backups(n)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if b.Complete && (id == "" || b.ID == id) {
				out = append(out, b)
			}
		}
	}
	if id != "" && len(out) == 0 {
		return nil, fmt.Errorf("complete backup %s of %s %w", id, name, repo.ErrNotFound)
	}
	return out, nil
}

// verifier holds state shared by the backups of one Verify call.
type verifier struct {
	jobs         int
	progress     *Progress
	blocksHealed []Heal // chunks healBlocksFirst stored again, before anything was read

	mu       sync.Mutex         // guards everything below
	hashed   map[devIno]hashKey // inodes hashed in this call: their content's key
	failed   map[devIno]string  // inodes whose content could not be read: why
	corrupt  map[devIno][]int   // inode -> indexes into problems
	damaged  map[devIno]*damagedInode
	problems []Problem
	entries  int64
	bytes    int64
}

func (v *verifier) report(p Problem) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.problems = append(v.problems, p)
	return len(v.problems) - 1
}

// annotateShared names, on each corrupted file, the other verified backups
// that share its inode.
func (v *verifier) annotateShared() {
	for _, idx := range v.corrupt {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			var others []string
			for _, j := range idx {
				if j != i {
					others = append(others, v.problems[j].Backup)
				}
			}
			v.problems[i].Detail += "; same file also in " + strings.Join(others, ", ")
		}
	}
}

// verifyBackup merges the manifest with a walk of the tree.
func (v *verifier) verifyBackup(ctx context.Context, b *repo.Backup) error {
	name := b.Name + "/" + b.ID
	if sum, err := hashFile(b.ManifestPath()); err != nil || sum != b.Info.ManifestBLAKE3 {
		v.report(Problem{Backup: name, Kind: "manifest", Detail: "manifest file does not match the hash in info.json"})
	}
	if err := checkExcludedList(b); err != nil {
		v.report(Problem{Backup: name, Kind: "manifest", Detail: err.Error()})
	}
	if detail := unsealedTree(b); detail != "" {
		v.report(Problem{Backup: name, Kind: "writable", Detail: detail})
	}
	mr, err := manifest.Open(b.ManifestPath())
	if err != nil {
		v.report(Problem{Backup: name, Kind: "manifest", Detail: err.Error()})
		return nil
	}
	defer mr.Close()
	c := &treeCheck{v: v, b: b, name: name, mr: mr}
	if ok, err := c.openTree(); !ok {
		return err
	}
	defer c.tree.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.jobs + 1)
	c.g, c.ctx = g, gctx
	werr := walker.Walk(gctx, b.TreePath(), walker.Options{Jobs: v.jobs, OnError: c.walkError},
		func(we *walker.Entry) error { return c.visit(we) })
	if werr == nil {
		c.drainBefore("", true)
	}
	if err := g.Wait(); werr == nil {
		werr = err
	}
	return werr
}

// treeCheck is the merge of one manifest with one walk.
type treeCheck struct {
	v    *verifier
	b    *repo.Backup
	name string
	mr   *manifest.Reader
	tree *fileops.Tree // the backup's tree: files are read beneath it
	cur  *manifest.Entry
	eof  bool
	g    *errgroup.Group
	ctx  context.Context
}

// head returns the manifest entry at the head of the stream, nil at the end.
func (c *treeCheck) head() *manifest.Entry {
	if c.cur == nil && !c.eof {
		e, err := c.mr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.v.report(Problem{Backup: c.name, Kind: "manifest", Detail: err.Error()})
			}
			c.eof = true
			return nil
		}
		c.cur = e
	}
	return c.cur
}

// drainBefore reports as missing every manifest entry that sorts before
// path, or every remaining one when all is set.
func (c *treeCheck) drainBefore(path string, all bool) {
	for e := c.head(); e != nil; e = c.head() {
		if !all && manifest.Compare(e.Path, path) >= 0 {
			return
		}
		c.v.report(Problem{Backup: c.name, Path: e.Path, Kind: "missing", Detail: "in the manifest but not in the tree"})
		c.cur = nil
	}
}

func (c *treeCheck) visit(we *walker.Entry) error {
	c.drainBefore(we.Path, false)
	e := c.head()
	if e == nil || e.Path != we.Path {
		c.v.report(Problem{Backup: c.name, Path: we.Path, Kind: "extra", Detail: "in the tree but not in the manifest"})
		return nil
	}
	c.cur = nil
	c.v.mu.Lock()
	c.v.entries++
	c.v.mu.Unlock()
	c.v.progress.add(0)
	got := toEntry(we)
	if d := metaDiff(e, got); d != "" {
		c.v.report(Problem{Backup: c.name, Path: e.Path, Kind: "metadata", Detail: d})
	}
	if e.LinkTo != "" {
		c.checkLink(e, we)
	}
	if e.Type == manifest.TypeFile && got.Type == manifest.TypeFile {
		key := devIno{we.Stat.Dev, we.Stat.Ino}
		c.g.Go(func() error { c.checkContent(e, key); return nil })
	}
	return c.ctx.Err()
}

// checkLink checks that a hard link still shares its group's inode.
func (c *treeCheck) checkLink(e *manifest.Entry, we *walker.Entry) {
	var st unix.Stat_t
	err := c.tree.Lstat(e.LinkTo, &st)
	if err != nil || st.Ino != we.Stat.Ino || st.Dev != we.Stat.Dev {
		detail := "no longer a hard link to " + e.LinkTo
		if err != nil {
			detail += ": " + err.Error()
		}
		c.v.report(Problem{Backup: c.name, Path: e.Path, Kind: "metadata", Detail: detail})
	}
}

// metaDiff describes how the tree's entry differs from the manifest's
// record, or returns "". Neither side's xattrs hold alias names
// (manifest.IsXattrAlias): the manifest Reader and fileops.ListXattrs both
// leave them out, so XFS's second names of an ACL, recorded by old
// manifests or present in a tree, are no difference.
func metaDiff(want, got *manifest.Entry) string {
	var d []string
	if want.Type != got.Type {
		return fmt.Sprintf("type %s, manifest says %s", got.Type, want.Type)
	}
	if want.Mode != got.Mode && want.Type != manifest.TypeSymlink {
		d = append(d, fmt.Sprintf("mode %04o, manifest says %04o", got.Mode, want.Mode))
	}
	if want.UID != got.UID || want.GID != got.GID {
		d = append(d, fmt.Sprintf("owner %d:%d, manifest says %d:%d", got.UID, got.GID, want.UID, want.GID))
	}
	if want.Size != got.Size {
		d = append(d, fmt.Sprintf("size %d, manifest says %d", got.Size, want.Size))
	}
	if want.Mtime != got.Mtime {
		d = append(d, fmt.Sprintf("mtime %v, manifest says %v", got.Mtime, want.Mtime))
	}
	if want.Target != got.Target {
		d = append(d, fmt.Sprintf("symlink target %q, manifest says %q", got.Target, want.Target))
	}
	if want.Rdev != got.Rdev {
		d = append(d, fmt.Sprintf("device %d, manifest says %d", got.Rdev, want.Rdev))
	}
	if !manifest.EqualXattrs(want.Xattrs, got.Xattrs) {
		d = append(d, "xattrs differ")
	}
	return strings.Join(d, "; ")
}
