package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lvback/lvback/bench/internal/treegen"
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
func (b *bench) fileRep(d Dataset, rep int) error {
	w := filepath.Join(b.sc.dir, "run-"+d.Name)
	if err := os.MkdirAll(filepath.Join(w, "rsync"), 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(w)
	f := fileRun{d: d, rep: rep, repo: filepath.Join(w, "repo"), rsyncDir: filepath.Join(w, "rsync")}
	if err := b.initRepo(f.repo); err != nil {
		return err
	}
	cp := filepath.Join(w, "cp")
	full := b.rsyncStep(f, 0)
	full.tool = toolRsync
	if err := b.compare(caseFull, d, rep, b.keep([]step{b.backupStep(f), full,
		{tool: toolCp, argv: []string{"cp", "-a", d.Path, cp}, dest: cp, sync: true, optional: true}}, "file-mode peers")); err != nil {
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
	d              Dataset
	rep            int
	repo, rsyncDir string
}

// rs is rsync's i-th copy.
func (f fileRun) rs(i int) string { return filepath.Join(f.rsyncDir, fmt.Sprint(i)) }

func (b *bench) backupStep(f fileRun) step {
	return step{tool: toolLvback, argv: b.lv("backup", "--repo", f.repo, "--name", f.d.Name, "--source", f.d.Path), dest: f.repo}
}

// rsyncStep copies the tree to rsync's i-th copy, with extra flags.
func (b *bench) rsyncStep(f fileRun, i int, extra ...string) step {
	argv := append([]string{"rsync", "-aHX", "--numeric-ids"}, extra...)
	return step{tool: toolRsyncLink, argv: append(argv, f.d.Path+"/", f.rs(i)+"/"), dest: f.rs(i), sync: true}
}

// fileChanged runs the cases after the mutation.
func (b *bench) fileChanged(f fileRun) error {
	d, rep := f.d, f.rep
	if err := b.compare(caseIncr, d, rep, b.keep([]step{b.backupStep(f), b.rsyncStep(f, 1, "--delete", "--link-dest="+f.rs(0))}, "file-mode peers")); err != nil {
		return err
	}
	if err := b.compare(caseNoChange, d, rep, b.keep([]step{b.backupStep(f), b.rsyncStep(f, 2, "--delete", "--link-dest="+f.rs(1))}, "file-mode peers")); err != nil {
		return err
	}
	if lastFileCase(b.o) == caseNoChange {
		return nil
	}
	id, err := b.newestID(f.repo, d.Name)
	if err != nil {
		return err
	}
	if err := b.compare(caseVerify, d, rep, b.keep([]step{
		{tool: toolLvback, argv: b.lv("verify", "--repo", f.repo, "--name", d.Name, "--id", id)},
		{tool: toolRsyncCheck, argv: []string{"rsync", "-anc", d.Path + "/", f.rs(2) + "/"}},
	}, "file-mode peers")); err != nil {
		return err
	}
	prune := []step{{tool: toolLvback, argv: b.lv("prune", "--repo", f.repo, "--name", d.Name, "--keep-last", "2")}}
	if b.have("rsync", "file-mode peers") { // rs/0 is rsync's tree
		prune = append(prune, step{tool: toolRm, argv: []string{"rm", "-rf", f.rs(0)}, sync: true})
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
