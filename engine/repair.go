package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
	"github.com/lvback/lvback/repo"
)

// RepairReport is what Verify with Repair did about the damage it found.
type RepairReport struct {
	Healed   []Heal `json:"healed"`
	Unhealed []Heal `json:"unhealed"`
	// Other counts the problems --repair does not handle (missing, extra,
	// metadata, manifest); they are listed in the report's Problems.
	Other int `json:"other_problems"`
}

// Heal is one damaged inode (or block backup) and what repair did about it.
type Heal struct {
	Files  []FileRef `json:"files"`            // every name the damaged inode had
	From   string    `json:"from,omitempty"`   // healed: the intact copy that was read
	Note   string    `json:"note,omitempty"`   // healed, with something left to say
	Reason string    `json:"reason,omitempty"` // not healed: why (nothing was changed unless it says so)
}

// FileRef is one path in one backup's tree.
type FileRef struct {
	Backup string `json:"backup"` // NAME/ID
	Path   string `json:"path"`
}

func (f FileRef) String() string { return f.Backup + ":" + f.Path }

// errNotHealed is the reason of a damaged inode repair found no intact
// copy for.
var errNotHealed = errors.New("no intact copy")

// verifyError is Verify's error for a finished report: nil when it found
// no problem, or when Repair healed every one.
func verifyError(rep *VerifyReport) error {
	if len(rep.Problems) == 0 {
		return nil
	}
	if rep.Repair == nil {
		return fmt.Errorf("%w: %d in %d backups", ErrVerifyFailed, len(rep.Problems), len(rep.Backups))
	}
	if len(rep.Repair.Unhealed) == 0 && rep.Repair.Other == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d in %d backups; %d damaged files not healed, %d other problems (not repairable)",
		ErrVerifyFailed, len(rep.Problems), len(rep.Backups), len(rep.Repair.Unhealed), rep.Repair.Other)
}

// repair replaces every damaged inode found (see Verify) with a new inode
// holding an intact copy, then drops the healed inodes from the damaged
// list. Intact inodes are only read. The caller holds the repository lock.
func (v *verifier) repair(ctx context.Context, r *repo.Repo, o VerifyOptions, found []*damagedInode, backups []repo.Backup, problems []Problem) (*RepairReport, error) {
	rep := &RepairReport{Healed: append([]Heal{}, v.blocksHealed...), Unhealed: repairBlocks(o, backups, problems)}
	copies, err := findCopies(ctx, r, found)
	if err != nil {
		return nil, err
	}
	src := openHealSource(o.Source)
	defer src.close()
	var healed []repo.DamagedInode
	for _, d := range found {
		h, err := v.heal(ctx, r, d, copies[d.e.Hash], src)
		if err != nil {
			return nil, err
		}
		if h.Reason != "" {
			rep.Unhealed = append(rep.Unhealed, h)
			continue
		}
		rep.Healed = append(rep.Healed, h)
		healed = append(healed, d.record())
	}
	rep.Other = len(problems) - rep.covered(problems)
	if len(healed) > 0 {
		drop := func(d repo.DamagedInode) bool { return slices.ContainsFunc(healed, d.Same) }
		if err := r.RecordDamaged(nil, drop); err != nil {
			return rep, fmt.Errorf("healed, but the damaged list keeps them: %w", err)
		}
	}
	return rep, nil
}

// healBlocksFirst runs before verify reads anything: with Source naming an
// image or device (not a directory, which is for file trees), it heals
// every chosen block-mode backup from it (RepairBlocks), so verify then
// reports only what is left. It returns one Heal per chunk stored again.
// The caller holds the repository lock.
func healBlocksFirst(ctx context.Context, r *repo.Repo, o VerifyOptions, backups []repo.Backup) ([]Heal, error) {
	if o.Source == "" || !slices.ContainsFunc(backups, func(b repo.Backup) bool { return b.Blocks() }) {
		return nil, nil
	}
	if fi, err := os.Stat(o.Source); err != nil || fi.IsDir() {
		return nil, nil // a source directory heals file trees; repairBlocks says why blocks stay
	}
	var heals []Heal
	for _, b := range backups {
		if !b.Blocks() {
			continue
		}
		res, err := RepairBlocks(ctx, BlockRepairOptions{Repo: r.Root, Name: b.Name, ID: b.ID, Source: o.Source, Locked: true, Log: o.Log})
		if err != nil {
			return nil, err
		}
		for _, p := range res.Healed {
			heals = append(heals, Heal{Files: []FileRef{{Backup: p.Backup, Path: p.Path}}, From: o.Source})
		}
	}
	return heals, nil
}

// repairBlocks reports the problems verify still found in block-mode
// backups, after healBlocksFirst, as not repaired, saying what would heal
// them.
func repairBlocks(o VerifyOptions, backups []repo.Backup, problems []Problem) []Heal {
	blocks := map[string]bool{}
	for _, b := range backups {
		if b.Blocks() {
			blocks[b.Name+"/"+b.ID] = true
		}
	}
	reason := "a block backup's chunk heals with --source IMAGE, or when the next backup reads the same data"
	if fi, err := os.Stat(o.Source); err == nil && !fi.IsDir() {
		reason = "the source image does not hold this chunk's data"
	}
	out := []Heal{}
	for _, p := range problems {
		if blocks[p.Backup] {
			out = append(out, Heal{Files: []FileRef{{Backup: p.Backup, Path: p.Path}}, Reason: reason})
		}
	}
	return out
}

// covered counts the problems that a Heal names: the corrupt files, healed
// or not, and the block backups' problems.
func (rep *RepairReport) covered(problems []Problem) int {
	named := map[FileRef]bool{}
	for _, hs := range [][]Heal{rep.Healed, rep.Unhealed} {
		for _, h := range hs {
			for _, f := range h.Files {
				named[f] = true
			}
		}
	}
	n := 0
	for _, p := range problems {
		if named[FileRef{Backup: p.Backup, Path: p.Path}] {
			n++
		}
	}
	return n
}

// heal replaces one damaged inode: an intact copy with the manifest's
// metadata goes to a temporary name beside its first name and is fsynced,
// then renamed over that name; every other name gets a link to the new
// inode renamed over it. The names' directories keep their times. Every
// name is reached beneath its backup's tree (see repair_fs.go). Only a
// cancelled ctx is an error; everything else is the Heal's Reason.
func (v *verifier) heal(ctx context.Context, r *repo.Repo, d *damagedInode, copies healCopies, src *healSource) (h Heal, _ error) {
	names, nlink, err := allNames(r, d)
	h.Files = refs(names)
	if err != nil {
		h.Files, h.Reason = refs(d.names), err.Error()
		return h, nil
	}
	reseal, err := unsealTrees(r, names)
	defer reseal()
	if err != nil {
		h.Reason = err.Error() + "; nothing changed"
		return h, nil
	}
	dirs, err := openNameDirs(names)
	if err != nil {
		h.Reason = err.Error() + "; nothing changed"
		return h, nil
	}
	defer func() {
		if err := dirs.restore(); err != nil {
			h.Note = strings.TrimPrefix(h.Note+"; ", "; ") + err.Error()
		}
	}()
	tmp, from, note, err := v.writeIntact(ctx, dirs.of[0].Dir, d, copies, src)
	if err != nil {
		h.Reason = err.Error()
		return h, ctx.Err()
	}
	h.Note = note
	if n, err := replaceNames(names, dirs, tmp); err != nil {
		h.Reason = fmt.Sprintf("replaced %d of %d names: %v", n, len(names), err)
		return h, nil
	}
	if nlink > len(names) {
		h.Reason = fmt.Sprintf("replaced all %d names found, but the damaged inode had %d hard links: "+
			"verify every backup of %s to find the rest", len(names), nlink, d.name)
		return h, nil
	}
	h.From = from
	return h, nil
}

func refs(names []treeName) []FileRef {
	out := make([]FileRef, len(names))
	for i, n := range names {
		out[i] = n.ref()
	}
	return out
}

// allNames returns every name of the damaged inode: its recorded paths
// (the ones verify saw it under) in every backup of the volume that still
// hold it (a backup links a file at the same path), oldest backup first,
// each looked at beneath its backup's tree. It also returns the inode's
// link count, which says whether a name was missed. A symlink met where a
// directory was is not followed: when the names found do not account for
// every link, it may hide one, and the error names it.
func allNames(r *repo.Repo, d *damagedInode) ([]treeName, int, error) {
	bs, err := r.Backups(d.name)
	if err != nil {
		return nil, 0, err
	}
	var names []treeName
	var hidden []string
	nlink := 0
	symlink := func(n treeName, err error) bool {
		var se *fileops.SymlinkError
		if errors.As(err, &se) {
			hidden = append(hidden, fmt.Sprintf("%s: %v", n.ref(), se))
		}
		return se != nil
	}
	for i := range bs {
		if bs[i].Blocks() {
			continue
		}
		b := &bs[i]
		err := withTree(b, func(t *fileops.Tree) error {
			for _, p := range d.paths() {
				n := treeName{b: b, path: p}
				var st unix.Stat_t
				err := t.Lstat(p, &st)
				if !symlink(n, err) && err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG &&
					(devIno{st.Dev, st.Ino}) == d.key {
					names = append(names, n)
					nlink = int(st.Nlink)
				}
			}
			return nil
		})
		symlink(treeName{b: b}, err)
	}
	switch {
	case len(hidden) > 0 && (len(names) == 0 || len(names) < nlink):
		return nil, 0, fmt.Errorf("%s; it may hide a name of the damaged inode (%d of %d links found): nothing changed",
			strings.Join(hidden, "; "), len(names), nlink)
	case len(names) == 0:
		return nil, 0, errors.New("no longer in the repository")
	}
	return names, nlink, nil
}
