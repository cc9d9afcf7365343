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

	"github.com/lvback/lvback/manifest"
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
	var healed []repo.DamagedInode
	for _, d := range found {
		h, err := v.heal(ctx, r, d, copies[d.e.Hash], o.Source)
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
// inode renamed over it. The names' directories keep their times. Only a
// cancelled ctx is an error; everything else is the Heal's Reason.
func (v *verifier) heal(ctx context.Context, r *repo.Repo, d *damagedInode, copies []treeName, source string) (h Heal, _ error) {
	names, nlink, err := allNames(r, d)
	h.Files = refs(names)
	if err != nil {
		h.Files, h.Reason = refs(d.names), err.Error()
		return h, nil
	}
	dirs := saveDirTimes(names)
	defer func() {
		if err := dirs.restore(); err != nil {
			h.Note = strings.TrimPrefix(h.Note+"; ", "; ") + err.Error()
		}
	}()
	tmp, from, note, err := v.writeIntact(ctx, names[0], d, copies, source)
	if err != nil {
		h.Reason = err.Error()
		return h, ctx.Err()
	}
	h.Note = note
	if n, err := replaceNames(names, tmp); err != nil {
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

// allNames returns every name of the damaged inode: the ones verify saw
// that still hold it, and its recorded paths in every other backup of the
// volume (a backup links a file at the same path). It also returns the
// inode's link count, which says whether a name was missed.
func allNames(r *repo.Repo, d *damagedInode) ([]treeName, int, error) {
	bs, err := r.Backups(d.name)
	if err != nil {
		return nil, 0, err
	}
	var names []treeName
	nlink := 0
	add := func(n treeName) {
		if slices.ContainsFunc(names, func(m treeName) bool { return m.abs() == n.abs() }) {
			return
		}
		if st, err := lstat(n.abs()); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG &&
			(devIno{st.Dev, st.Ino}) == d.key {
			names = append(names, n)
			nlink = int(st.Nlink)
		}
	}
	for _, n := range d.names {
		add(n)
	}
	for i := range bs {
		if bs[i].Blocks() {
			continue
		}
		for _, p := range d.paths() {
			add(treeName{b: &bs[i], path: p})
		}
	}
	if len(names) == 0 {
		return nil, 0, errors.New("no longer in the repository")
	}
	return names, nlink, nil
}

// writeIntact copies d's content to a new, fsynced temporary file beside
// first, with the manifest's metadata, from the first candidate whose
// content hashes to the manifest's hash: another inode of the repository
// (copies), else the file at the same path under source. It returns the
// temporary file, what it read, and a note; errNotHealed says why no
// candidate would do, and nothing was left behind.
func (v *verifier) writeIntact(ctx context.Context, first treeName, d *damagedInode, copies []treeName, source string) (tmp, from, note string, err error) {
	var cands, whys []string
	for _, c := range copies {
		if st, err := lstat(c.abs()); err == nil && !v.isDamaged(devIno{st.Dev, st.Ino}) {
			cands = append(cands, c.abs())
		}
	}
	if len(cands) == 0 {
		whys = append(whys, fmt.Sprintf("no other backup of %s holds content %x", d.name, d.e.Hash[:8]))
	}
	if source == "" {
		whys = append(whys, "no --source given")
	}
	for _, p := range d.paths() {
		if source != "" {
			cands = append(cands, filepath.Join(source, filepath.FromSlash(p)))
		}
	}
	dir := filepath.Dir(first.abs())
	for _, c := range cands {
		tmp, note, err := copyIntact(ctx, dir, c, d.e)
		if err == nil {
			return tmp, c, note, nil
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

// findCopies returns, for each content hash of found, up to maxHealCopies
// other inodes of the same volume whose manifests record that hash,
// newest backup first: the candidates repair copies from (hashed again
// while copied). Inodes found damaged are left out.
func findCopies(ctx context.Context, r *repo.Repo, found []*damagedInode) (map[[32]byte][]treeName, error) {
	want := map[string]map[[32]byte]bool{}
	bad := map[devIno]bool{}
	for _, d := range found {
		if want[d.name] == nil {
			want[d.name] = map[[32]byte]bool{}
		}
		want[d.name][d.e.Hash] = true
		bad[d.key] = true
	}
	out := map[[32]byte][]treeName{}
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
	out  map[[32]byte][]treeName
}

// scan reads b's manifest for files with a wanted hash. A manifest that
// cannot be read holds no copies; only a cancelled ctx is an error.
func (c *copyScan) scan(ctx context.Context, b *repo.Backup) error {
	mr, err := manifest.Open(b.ManifestPath())
	if err != nil {
		return nil
	}
	defer mr.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := mr.Next()
		if err != nil {
			return nil
		}
		if e.Type != manifest.TypeFile || !c.want[e.Hash] || len(c.out[e.Hash]) >= maxHealCopies {
			continue
		}
		n := treeName{b: b, path: e.Path}
		st, err := lstat(n.abs())
		k := devIno{st.Dev, st.Ino}
		if err != nil || c.bad[k] || c.seen[k] {
			continue
		}
		c.seen[k] = true
		c.out[e.Hash] = append(c.out[e.Hash], n)
	}
}
