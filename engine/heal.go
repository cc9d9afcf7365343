package engine

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// This file connects verify's findings to the next backup: verify records
// every tree inode whose content does not match its manifest in the
// repository's damaged list (repo.DamagedFile), and a backup never links
// or reflinks from a recorded inode; it copies the source instead.

// damagedSet is the part of the damaged list a backup needs: its volume
// name's recorded inodes, by tree path. Read-only during the run.
type damagedSet map[string][]repo.DamagedInode

// loadDamaged reads the damaged list's inodes of name. An unreadable list
// aborts the backup: linking blindly would spread the damage it records.
func loadDamaged(r *repo.Repo, name string) (damagedSet, error) {
	all, err := r.Damaged()
	if err != nil {
		return nil, err
	}
	s := damagedSet{}
	for _, d := range all {
		if d.Name != name {
			continue
		}
		for _, p := range d.Paths {
			s[p] = append(s[p], d)
		}
	}
	return s, nil
}

// prevDamaged reports whether the previous backup's file recorded by prev
// is an inode verify recorded as damaged: same path, inode number and
// manifest hash. Only paths on the list cost a system call; a file that
// cannot be looked at counts as damaged (copying is always safe).
func (r *fileRun) prevDamaged(prev *manifest.Entry) bool {
	if prev == nil || prev.Type != manifest.TypeFile {
		return false
	}
	ds := r.damaged[prev.Path]
	if len(ds) == 0 {
		return false
	}
	if r.prevTree == nil {
		return false // nothing to link from: everything is copied
	}
	var st unix.Stat_t
	err := r.prevTree.Lstat(prev.Path, &st)
	if errors.Is(err, os.ErrNotExist) {
		return false // nothing to link: linkPrev copies anyway
	}
	if err != nil {
		return true
	}
	h := hex.EncodeToString(prev.Hash[:])
	return slices.ContainsFunc(ds, func(d repo.DamagedInode) bool { return d.Ino == st.Ino && d.BLAKE3 == h })
}

// copyInsteadOfDamaged copies an unchanged file whose previous inode is
// recorded as damaged, and counts it (repo.Info.DamagedCopied).
func (r *fileRun) copyInsteadOfDamaged(ctx context.Context, e *manifest.Entry) error {
	if err := r.copySource(ctx, e); err != nil {
		return err
	}
	r.o.Log.Info("copied instead of linked: recorded damaged by verify", "path", e.Path)
	r.st.damagedCopied.Add(1)
	return nil
}

// damagedInode is a tree inode whose content Verify found not to match
// (or could not read): the first manifest record naming it, and every
// name it was found under in this Verify call.
type damagedInode struct {
	key   devIno
	e     *manifest.Entry // hash, size and metadata the inode should have
	name  string          // volume name
	names []treeName
}

// treeName is one name of an inode: a path in a backup's tree, only ever
// reached beneath the tree (see repair_fs.go).
type treeName struct {
	b    *repo.Backup
	path string
}

// abs is n's full path, for messages: no system call is given it.
func (n treeName) abs() string { return n.b.TreePath() + "/" + n.path }

func (n treeName) ref() FileRef { return FileRef{Backup: n.b.Name + "/" + n.b.ID, Path: n.path} }

// noteDamaged remembers that the inode key, named by e.Path in b, is
// damaged. The caller holds v.mu.
func (v *verifier) noteDamaged(key devIno, b *repo.Backup, e *manifest.Entry) {
	if b.Blocks() {
		return
	}
	if v.damaged == nil {
		v.damaged = make(map[devIno]*damagedInode)
	}
	d := v.damaged[key]
	if d == nil {
		d = &damagedInode{key: key, e: e, name: b.Name}
		v.damaged[key] = d
	}
	d.names = append(d.names, treeName{b: b, path: e.Path})
}

// damagedKeys returns the damaged inodes' keys. The caller holds v.mu.
func (v *verifier) damagedKeys() map[devIno]string {
	m := make(map[devIno]string, len(v.damaged))
	for k := range v.damaged {
		m[k] = ""
	}
	return m
}

// paths returns the distinct tree paths d was found under, sorted.
func (d *damagedInode) paths() []string {
	var ps []string
	for _, n := range d.names {
		ps = append(ps, n.path)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

func (d *damagedInode) record() repo.DamagedInode {
	return repo.DamagedInode{Name: d.name, Ino: d.key.ino, BLAKE3: hex.EncodeToString(d.e.Hash[:]),
		Size: d.e.Size, Backup: d.names[0].b.ID, Paths: d.paths()}
}

// found returns the damaged inodes of this call, leaving out names in
// backups a concurrent prune removed, in a stable order.
func (v *verifier) found(pruned map[string]bool) []*damagedInode {
	var out []*damagedInode
	for _, d := range v.damaged {
		d.names = slices.DeleteFunc(d.names, func(n treeName) bool { return pruned[n.b.Name+"/"+n.b.ID] })
		if len(d.names) == 0 {
			continue
		}
		slices.SortFunc(d.names, func(a, b treeName) int {
			if c := idCompare(a.b, b.b); c != 0 {
				return c
			}
			return manifest.Compare(a.path, b.path)
		})
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *damagedInode) int { return compareNames(a.names[0], b.names[0]) })
	return out
}

func compareNames(a, b treeName) int {
	if a.b.Name != b.b.Name {
		if a.b.Name < b.b.Name {
			return -1
		}
		return 1
	}
	if c := manifest.Compare(a.path, b.path); c != 0 {
		return c
	}
	return idCompare(a.b, b.b)
}

func idCompare(a, b *repo.Backup) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return a.Seq - b.Seq
}

// recordDamaged adds the damaged inodes found to the repository's list,
// and drops recorded inodes of the fully verified names (complete) that
// this call found intact again or no longer found at all. It returns how
// many inodes the list holds for the verified backups' names.
func (v *verifier) recordDamaged(r *repo.Repo, found []*damagedInode, complete map[string]bool) (int, error) {
	add := make([]repo.DamagedInode, 0, len(found))
	for _, d := range found {
		add = append(add, d.record())
	}
	old, err := r.Damaged()
	if err != nil || len(old)+len(add) == 0 {
		return 0, err // nothing to record: a clean verify writes nothing
	}
	seen := v.seenInodes(old)
	drop := func(d repo.DamagedInode) bool {
		if !complete[d.Name] || slices.ContainsFunc(add, d.Same) {
			return false
		}
		keys, ok := seen[d.Ino]
		if !ok {
			return true // in no backup of the name any more
		}
		sum, err := hex.DecodeString(d.BLAKE3)
		return err == nil && len(sum) == 32 && slices.Contains(keys, keyOf([32]byte(sum)))
	}
	if err := r.RecordDamaged(add, drop); err != nil {
		return 0, err
	}
	return len(add), nil
}

// seenInodes returns, for the inode numbers of list that this call hashed,
// the content keys it found.
func (v *verifier) seenInodes(list []repo.DamagedInode) map[uint64][]hashKey {
	if len(list) == 0 {
		return nil
	}
	want := make(map[uint64]bool, len(list))
	for _, d := range list {
		want[d.Ino] = true
	}
	seen := map[uint64][]hashKey{}
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, h := range v.hashed {
		if want[k.ino] {
			if _, bad := v.damaged[k]; !bad {
				seen[k.ino] = append(seen[k.ino], h)
			}
		}
	}
	for _, m := range []map[devIno]string{v.failed, v.damagedKeys()} {
		for k := range m {
			if _, ok := seen[k.ino]; want[k.ino] && !ok {
				seen[k.ino] = nil // present, but not intact
			}
		}
	}
	return seen
}

// recordAndRepair records the damage found and, with o.Repair, repairs it (see
// Verify).
func (v *verifier) recordAndRepair(ctx context.Context, r *repo.Repo, o VerifyOptions, backups []repo.Backup, pruned map[string]bool, rep *VerifyReport) error {
	found := v.found(pruned)
	complete := map[string]bool{}
	for _, b := range backups {
		complete[b.Name] = o.ID == ""
	}
	n, err := v.recordDamaged(r, found, complete)
	if err != nil {
		orDiscard(o.Log).Warn("could not record the damaged files: the next backup may link them", "err", err)
	}
	rep.Damaged = n
	if !o.Repair {
		return nil
	}
	rep.Repair, err = v.repair(ctx, r, o, found, backups, rep.Problems)
	return err
}
