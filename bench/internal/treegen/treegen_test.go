package treegen

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	for _, c := range []struct {
		name string
		n    int
		pct  float64
		want int
	}{
		{"one percent", 100000, 1, 1000},
		{"tenth percent", 100000, 0.1, 100},
		{"rounds", 2500, 0.1, 3},
		{"at least one", 10, 0.1, 1},
		{"zero percent", 1000, 0, 0},
		{"empty tree", 0, 5, 0},
		{"capped", 3, 200, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := count(c.n, c.pct); got != c.want {
				t.Errorf("count(%d, %v) = %d, want %d", c.n, c.pct, got, c.want)
			}
		})
	}
}

func TestPlanForIsDeterministicAndDisjoint(t *testing.T) {
	var files []string
	for i := range 2000 {
		files = append(files, fmt.Sprintf("d%02d/f%04d", i%40, i))
	}
	slices.Sort(files)
	m := Mutation{ChangePct: 1, AddPct: 0.1, RemovePct: 0.1, Seed: 7}
	p := m.PlanFor(files)
	if q := m.PlanFor(slices.Clone(files)); !slices.Equal(p.Change, q.Change) || !slices.Equal(p.Remove, q.Remove) || !slices.Equal(p.Add, q.Add) {
		t.Fatal("the same mutation of the same tree gave two plans")
	}
	if len(p.Change) != 20 || len(p.Remove) != 2 || len(p.Add) != 2 {
		t.Fatalf("plan sizes change %d remove %d add %d, want 20 2 2", len(p.Change), len(p.Remove), len(p.Add))
	}
	if !slices.IsSorted(p.Change) || !slices.IsSorted(p.Remove) {
		t.Error("Change and Remove must be sorted")
	}
	for _, r := range p.Remove {
		if slices.Contains(p.Change, r) {
			t.Errorf("%s is both changed and removed", r)
		}
	}
	for _, a := range p.Add {
		if _, found := slices.BinarySearch(files, a); found {
			t.Errorf("added file %s already exists", a)
		}
	}
	m.Seed = 8
	if other := m.PlanFor(files); slices.Equal(p.Change, other.Change) {
		t.Error("another seed chose the same files")
	}
}

func TestLogUniformStaysInRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	small := 0
	for range 10000 {
		n := logUniform(rng, 1024, 65536)
		if n < 1024 || n > 65536 {
			t.Fatalf("size %d outside 1024..65536", n)
		}
		if n < 8192 {
			small++
		}
	}
	// Log-uniform: half the files are below sqrt(1024*65536) = 8 KiB.
	if small < 4500 || small > 5500 {
		t.Errorf("%d of 10000 sizes below 8 KiB, want about half", small)
	}
}

// TestCreateAndMutateAreDeterministic builds the same tree twice, applies
// the same mutation to both and compares every file's bytes.
func TestCreateAndMutateAreDeterministic(t *testing.T) {
	s := Spec{Files: 300, Dirs: 7, MinSize: 10, MaxSize: 3000, BigFiles: 1, BigSize: 1<<20 + 5, Seed: 3}
	m := Mutation{ChangePct: 5, AddPct: 2, RemovePct: 2, MinSize: 10, MaxSize: 100, Seed: 4}
	var trees [2]map[string][]byte
	for i := range trees {
		root := t.TempDir()
		st, err := Create(root, s)
		if err != nil {
			t.Fatal(err)
		}
		if st.Files != 301 || st.Dirs != 7 {
			t.Fatalf("stats %+v, want 301 files in 7 dirs", st)
		}
		p, err := Mutate(root, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Change) != 15 || len(p.Remove) != 6 || len(p.Add) != 6 {
			t.Fatalf("plan sizes %d %d %d, want 15 6 6", len(p.Change), len(p.Remove), len(p.Add))
		}
		trees[i] = readTree(t, root)
	}
	if len(trees[0]) != 301 {
		t.Fatalf("%d files after mutation, want 301", len(trees[0]))
	}
	for name, b := range trees[0] {
		if !bytes.Equal(b, trees[1][name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func TestRandomContentDoesNotCompressLikeText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	text, random := make([]byte, 1<<16), make([]byte, 1<<16)
	newFiller(Text, 1).fill(rng, text)
	newFiller(Random, 1).fill(rng, random)
	distinct := func(b []byte) int {
		seen := map[byte]bool{}
		for _, c := range b {
			seen[c] = true
		}
		return len(seen)
	}
	if d := distinct(text); d > 40 {
		t.Errorf("text uses %d distinct bytes, want a small alphabet", d)
	}
	if d := distinct(random); d < 250 {
		t.Errorf("random uses only %d distinct bytes", d)
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files, err := Files(root)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		m[f] = b
	}
	return m
}

func TestImagePieces(t *testing.T) {
	const chunk = 2 << 20
	offs := ImagePieces(1<<30, chunk, 1, 9)
	if len(offs) != 5 { // 1% of 512 chunks, rounded
		t.Fatalf("%d pieces, want 5", len(offs))
	}
	if !slices.Equal(offs, ImagePieces(1<<30, chunk, 1, 9)) {
		t.Fatal("the same arguments chose other pieces")
	}
	chunks := map[int64]bool{}
	for _, o := range offs {
		if o%4096 != 0 || o/chunk != (o+PieceSize-1)/chunk || o+PieceSize > 1<<30 {
			t.Errorf("piece at %d is unaligned, crosses a chunk or leaves the image", o)
		}
		if chunks[o/chunk] {
			t.Errorf("two pieces in chunk %d", o/chunk)
		}
		chunks[o/chunk] = true
	}
}

func TestMutateImageUndo(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	orig := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB: two chunks of 2 MiB
	if err := os.WriteFile(img, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	undo, err := MutateImage(img, 2<<20, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	changed, _ := os.ReadFile(img)
	if diff := countDiff(orig, changed); diff < PieceSize/2 || diff > PieceSize {
		t.Errorf("%d bytes changed, want about one 64 KiB piece", diff)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if back, _ := os.ReadFile(img); !bytes.Equal(back, orig) {
		t.Error("undo did not restore the image")
	}
}

func countDiff(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// TestMutateUndoable restores every file's bytes, mode and mtime and every
// directory's mtime.
func TestMutateUndoable(t *testing.T) {
	root := t.TempDir()
	if _, err := Create(root, Spec{Files: 200, Dirs: 5, MinSize: 10, MaxSize: 2000, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, "0") {
			err = os.Chmod(p, 0o600)
		}
		if err == nil {
			err = os.Chtimes(p, old, old)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	p, undo, err := MutateUndoable(root, Mutation{ChangePct: 5, AddPct: 3, RemovePct: 3, MinSize: 10, MaxSize: 100, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Change) != 10 || len(p.Add) != 6 || len(p.Remove) != 6 {
		t.Fatalf("plan sizes %d %d %d, want 10 6 6", len(p.Change), len(p.Add), len(p.Remove))
	}
	if maps.Equal(before, snapshot(t, root)) {
		t.Fatal("the mutation changed nothing")
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, root)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %q after undo, want %q", k, after[k], v)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s is left over after undo", k)
		}
	}
}

// snapshot maps each entry under root to its type, mode, mtime and, for
// files, content hash.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := fmt.Sprintf("%v %v", info.Mode(), info.ModTime().UnixNano())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		m[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
