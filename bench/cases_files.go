package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lvback/lvback/bench/internal/treegen"
	"github.com/lvback/lvback/internal/btrfs"
)

// fileRep runs one repetition of the file-mode cases on tree d. Every
// repetition starts from the same state: the pristine tree (state A; the
// previous repetition's mutation undone) and empty destinations. Then,
// each step timed for lvback and its peers:
//
//	full:      lvback backup of A    | rsync -aHX A → rs/0 | cp -a A → cp
//	(A is changed to B by the seeded mutation, untimed)
//	incr:      lvback backup of B    | rsync --link-dest=rs/0 B → rs/1
//	no change: lvback backup of B    | rsync --link-dest=rs/1 B → rs/2
//	verify:    lvback verify newest  | rsync -anc B against rs/2
//	prune:     lvback prune oldest   | rm -rf rs/0 (an equal hard-link tree)
//
// With -fs btrfs (issue 16) every lvback step runs twice, on two
// repositories: one of layout subvolume (lvback-subvol), one of layout
// hardlink (lvback-hardlink); cp -a is left out.
func (b *bench) fileRep(d Dataset, rep int) (err error) {
	w := filepath.Join(b.sc.dir, "run-"+d.Name)
	if err := os.MkdirAll(filepath.Join(w, "rsync"), 0o755); err != nil {
		return err
	}
	defer func() {
		if rerr := b.removeRun(w); err == nil {
			err = rerr
		}
	}()
	f := fileRun{d: d, rep: rep, lvs: lvRepos(b.o, w), rsyncDir: filepath.Join(w, "rsync")}
	for _, l := range f.lvs {
		if err := b.initRepo(l.repo, l.layout); err != nil {
			return err
		}
	}
	cp := filepath.Join(w, "cp")
	full := b.rsyncStep(f, 0)
	full.tool = toolRsync
	steps := append(b.backupSteps(f), full)
	if !b.o.btrfs() {
		steps = append(steps, step{tool: toolCp, argv: []string{"cp", "-a", d.Path, cp}, dest: cp, sync: true, optional: true})
	}
	if err := b.compare(caseFull, d, rep, b.keep(steps, "file-mode peers")); err != nil {
		return err
	}
	if lastFileCase(b.o) == caseFull {
		return nil
	}
	if err := os.RemoveAll(cp); err != nil {
		return err
	}
	_, undo, err := treegen.MutateUndoable(d.Path, mutation(b.o.seed))
	if err != nil {
		return err
	}
	err = b.fileChanged(f)
	if uerr := undo(); err == nil {
		err = uerr
	}
	return err
}

// fileRun names the places of one repetition on one tree.
type fileRun struct {
	d        Dataset
	rep      int
	lvs      []lvRepo
	rsyncDir string
}

// lvRepo is one lvback repository of a repetition and the tool name its
// rows carry.
type lvRepo struct {
	tool, layout, repo string
}

// lvRepos are the repositories lvback is measured on under run directory
// w: one of the default layout, or with -fs btrfs one of each layout.
func lvRepos(o options, w string) []lvRepo {
	if !o.btrfs() {
		return []lvRepo{{toolLvback, "", filepath.Join(w, "repo")}}
	}
	return []lvRepo{
		{toolSubvol, "subvolume", filepath.Join(w, "repo-subvol")},
		{toolHardlink, "hardlink", filepath.Join(w, "repo-hardlink")},
	}
}

// removeRun removes a repetition's run directory, untimed. The
// subvolumes of a subvolume repository are deleted first (read-only ones
// refuse rm -rf).
func (b *bench) removeRun(w string) error {
	if b.o.btrfs() {
		var subvols []string
		err := filepath.WalkDir(w, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.IsDir() || p == w {
				return err
			}
			if ok, err := btrfs.IsSubvolume(p); err != nil || !ok {
				return err
			}
			subvols = append(subvols, p)
			return filepath.SkipDir // lvback does not nest them
		})
		for _, p := range subvols {
			err = errors.Join(err, btrfs.Delete(p))
		}
		if err != nil {
			return err
		}
	}
	return os.RemoveAll(w)
}

// rs is rsync's i-th copy.
func (f fileRun) rs(i int) string { return filepath.Join(f.rsyncDir, fmt.Sprint(i)) }

// backupSteps back the tree up into each of the run's repositories.
func (b *bench) backupSteps(f fileRun) []step {
	var steps []step
	for _, l := range f.lvs {
		steps = append(steps, step{tool: l.tool, argv: b.lv("backup", "--repo", l.repo, "--name", f.d.Name, "--source", f.d.Path),
			dest: l.repo, repo: l.repo, name: f.d.Name})
	}
	return steps
}

// rsyncStep copies the tree to rsync's i-th copy, with extra flags.
func (b *bench) rsyncStep(f fileRun, i int, extra ...string) step {
	argv := append([]string{"rsync", "-aHX", "--numeric-ids"}, extra...)
	return step{tool: toolRsyncLink, argv: append(argv, f.d.Path+"/", f.rs(i)+"/"), dest: f.rs(i), sync: true}
}

// fileChanged runs the cases after the mutation.
func (b *bench) fileChanged(f fileRun) error {
	d, rep := f.d, f.rep
	if err := b.compare(caseIncr, d, rep, b.keep(append(b.backupSteps(f), b.rsyncStep(f, 1, "--delete", "--link-dest="+f.rs(0))), "file-mode peers")); err != nil {
		return err
	}
	if err := b.compare(caseNoChange, d, rep, b.keep(append(b.backupSteps(f), b.rsyncStep(f, 2, "--delete", "--link-dest="+f.rs(1))), "file-mode peers")); err != nil {
		return err
	}
	if lastFileCase(b.o) == caseNoChange {
		return nil
	}
	var verify, prune []step
	for _, l := range f.lvs {
		id, err := b.newestID(l.repo, d.Name)
		if err != nil {
			return err
		}
		verify = append(verify, step{tool: l.tool, argv: b.lv("verify", "--repo", l.repo, "--name", d.Name, "--id", id)})
		p := step{tool: l.tool, argv: b.lv("prune", "--repo", l.repo, "--name", d.Name, "--keep-last", "2"), coldInodes: true}
		if l.layout == "subvolume" {
			// The subvolume's blocks are freed by the btrfs cleaner after
			// prune returns; the +cleaner row waits for it too.
			p.post, p.postSuffix = cleanerWait(b.sc.dir), cleanerSuffix
		}
		prune = append(prune, p)
	}
	verify = append(verify, step{tool: toolRsyncCheck, argv: []string{"rsync", "-anc", d.Path + "/", f.rs(2) + "/"}})
	if err := b.compare(caseVerify, d, rep, b.keep(verify, "file-mode peers")); err != nil {
		return err
	}
	if b.have("rsync", "file-mode peers") { // rs/0 is rsync's tree
		prune = append(prune, step{tool: toolRm, argv: []string{"rm", "-rf", f.rs(0)}, sync: true, coldInodes: true})
	}
	return b.compare(casePrune, d, rep, prune)
}

// lastFileCase is the last file-mode case the selected ones need run.
func lastFileCase(o options) string {
	last := caseFull
	for _, c := range []string{caseIncr, caseNoChange, caseVerify, casePrune} {
		if o.cases[c] {
			last = c
		}
	}
	if last == caseIncr {
		last = caseNoChange // one step more costs little and keeps the code flat
	}
	return last
}

// mutation is the change from state A to B of a tree: 1% of the files
// changed, 0.1% added, 0.1% removed, sized like the synthetic files.
func mutation(seed uint64) treegen.Mutation {
	return treegen.Mutation{ChangePct: changePct, AddPct: addPct, RemovePct: removePct,
		MinSize: defaultMinKiB << 10, MaxSize: defaultMaxKiB << 10, Content: treegen.Text, Seed: seed + 1}
}

// newestID is the id of the newest backup of name in repo.
func (b *bench) newestID(repo, name string) (string, error) {
	out, err := output(b.ctx, b.lvback, "list", "--repo", repo, "--name", name, "--json")
	if err != nil {
		return "", err
	}
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) == 0 {
		return "", fmt.Errorf("lvback list --json: %q: %v", out, err)
	}
	return list[len(list)-1].ID, nil
}
