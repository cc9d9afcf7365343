package treegen

import (
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
)

// Mutation describes a deterministic change to an existing tree: ChangePct
// percent of its regular files get 64 bytes appended (size and mtime
// change, as an edit does), RemovePct percent are removed and AddPct
// percent new files of MinSize..MaxSize bytes are added beside existing
// ones. A non-zero percentage of a non-empty tree always touches at least
// one file.
type Mutation struct {
	ChangePct, AddPct, RemovePct float64
	MinSize, MaxSize             int
	Content                      Content
	Seed                         uint64
}

// Plan is what a Mutation does to one tree, as slash-separated paths
// relative to its root. Change and Remove are disjoint and sorted; Add
// names files that do not exist yet.
type Plan struct {
	Change, Remove, Add []string
}

// count is pct percent of n, rounded, and at least 1 when pct > 0.
func count(n int, pct float64) int {
	if pct <= 0 || n == 0 {
		return 0
	}
	return min(n, max(1, int(math.Round(float64(n)*pct/100))))
}

// PlanFor chooses what m changes in a tree whose regular files are files
// (sorted relative paths, as Files returns). It is a pure function of m and
// files.
func (m Mutation) PlanFor(files []string) Plan {
	rng := rand.New(rand.NewPCG(m.Seed, 1))
	nc, nr := count(len(files), m.ChangePct), count(len(files), m.RemovePct)
	nr = min(nr, len(files)-nc)
	perm := rng.Perm(len(files))
	var p Plan
	for _, i := range perm[:nc] {
		p.Change = append(p.Change, files[i])
	}
	for _, i := range perm[nc : nc+nr] {
		p.Remove = append(p.Remove, files[i])
	}
	slices.Sort(p.Change)
	slices.Sort(p.Remove)
	if len(files) == 0 {
		return p
	}
	exists := make(map[string]bool, len(files))
	for _, f := range files {
		exists[f] = true
	}
	for i := range count(len(files), m.AddPct) {
		name := path.Join(path.Dir(files[rng.IntN(len(files))]), fmt.Sprintf("new-%d-%d", m.Seed, i))
		for exists[name] {
			name += "x"
		}
		exists[name] = true
		p.Add = append(p.Add, name)
	}
	return p
}

// Files lists the regular files under root as sorted slash-separated
// relative paths.
func Files(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	slices.Sort(files)
	return files, err
}

// Mutate applies m to the tree at root and returns what it did.
func Mutate(root string, m Mutation) (Plan, error) {
	files, err := Files(root)
	if err != nil {
		return Plan{}, err
	}
	p := m.PlanFor(files)
	return p, apply(root, m, p)
}

// MutateUndoable applies m like Mutate and returns a function that undoes
// it: changed and removed files get their bytes, mode and mtime back, added
// ones are removed, and the directories that gained or lost an entry get
// their mtime back. It keeps the changed and removed files in memory until
// then. Inode numbers and ctimes of the restored files are new.
func MutateUndoable(root string, m Mutation) (Plan, func() error, error) {
	files, err := Files(root)
	if err != nil {
		return Plan{}, nil, err
	}
	p := m.PlanFor(files)
	type saved struct {
		data []byte
		info fs.FileInfo
	}
	stash := map[string]saved{}
	for _, rel := range append(slices.Clone(p.Change), p.Remove...) {
		name := filepath.Join(root, rel)
		info, err := os.Lstat(name)
		if err != nil {
			return p, nil, err
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return p, nil, err
		}
		stash[rel] = saved{data, info}
	}
	dirs := map[string]fs.FileInfo{}
	for _, rel := range append(slices.Clone(p.Remove), p.Add...) {
		dir := filepath.Join(root, filepath.Dir(rel))
		if dirs[dir] == nil {
			if dirs[dir], err = os.Lstat(dir); err != nil {
				return p, nil, err
			}
		}
	}
	undo := func() error {
		for _, rel := range p.Add {
			if err := os.Remove(filepath.Join(root, rel)); err != nil {
				return err
			}
		}
		for rel, s := range stash {
			name := filepath.Join(root, rel)
			if err := os.WriteFile(name, s.data, s.info.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chmod(name, s.info.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chtimes(name, s.info.ModTime(), s.info.ModTime()); err != nil {
				return err
			}
		}
		for dir, info := range dirs {
			if err := os.Chtimes(dir, info.ModTime(), info.ModTime()); err != nil {
				return err
			}
		}
		return nil
	}
	return p, undo, apply(root, m, p)
}

// apply carries out plan p of mutation m on the tree at root.
func apply(root string, m Mutation, p Plan) error {
	rng := rand.New(rand.NewPCG(m.Seed, 2))
	fill := newFiller(m.Content, m.Seed)
	tail := make([]byte, 64)
	for _, rel := range p.Change {
		fill.fill(rng, tail)
		if err := appendTo(filepath.Join(root, rel), tail); err != nil {
			return err
		}
	}
	for _, rel := range p.Remove {
		if err := os.Remove(filepath.Join(root, rel)); err != nil {
			return err
		}
	}
	buf := make([]byte, max(m.MaxSize, 1))
	for _, rel := range p.Add {
		b := buf[:logUniform(rng, m.MinSize, m.MaxSize)]
		fill.fill(rng, b)
		if err := os.WriteFile(filepath.Join(root, rel), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func appendTo(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
