// Package treegen writes deterministic synthetic file trees for the
// benchmarks and changes them deterministically. It never reads the clock
// or an unseeded random source: the same Spec or Mutation on the same tree
// gives the same names and bytes (file times are whatever the clock says).
// It never deletes anything it did not choose through a Mutation.
package treegen

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Content is the kind of bytes written into files.
type Content int

const (
	// Text is text-like bytes (words from a seeded dictionary): zstd
	// compresses it about 3×, like source code or logs.
	Text Content = iota
	// Random is incompressible bytes.
	Random
)

// Spec describes a synthetic tree: Files files with sizes log-uniform
// between MinSize and MaxSize (many small files, few large ones, as real
// trees have), spread round-robin over Dirs directories two levels deep,
// plus BigFiles files of BigSize bytes at the top.
type Spec struct {
	Files, Dirs      int
	MinSize, MaxSize int
	BigFiles         int
	BigSize          int64
	Content          Content
	Seed             uint64
}

// Stats counts what Create wrote.
type Stats struct {
	Files, Dirs int
	Bytes       int64
}

// MeanSize is the expected size of one of the spec's small files, for
// sizing a tree to a byte budget.
func (s Spec) MeanSize() float64 {
	if s.MaxSize <= s.MinSize {
		return float64(s.MinSize)
	}
	lo, hi := float64(s.MinSize), float64(s.MaxSize)
	return (hi - lo) / math.Log(hi/lo)
}

// DirName is the relative directory of the small file number i.
func (s Spec) DirName(i int) string {
	d := i % max(s.Dirs, 1)
	return filepath.Join(fmt.Sprintf("d%02d", d/50), fmt.Sprintf("d%04d", d))
}

// Create writes the tree described by s under root, which it creates.
func Create(root string, s Spec) (Stats, error) {
	var st Stats
	if s.MinSize < 0 || s.MaxSize < s.MinSize {
		return st, fmt.Errorf("treegen: bad size range %d..%d", s.MinSize, s.MaxSize)
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x6c766261636b)) // "lvback"
	fill := newFiller(s.Content, s.Seed)
	made := map[string]bool{}
	buf := make([]byte, s.MaxSize)
	for i := 0; i < s.Files; i++ {
		dir := filepath.Join(root, s.DirName(i))
		if !made[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return st, err
			}
			made[dir] = true
			st.Dirs++
		}
		b := buf[:logUniform(rng, s.MinSize, s.MaxSize)]
		fill.fill(rng, b)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%06d", i)), b, 0o644); err != nil {
			return st, err
		}
		st.Files++
		st.Bytes += int64(len(b))
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return st, err
	}
	for i := 0; i < s.BigFiles; i++ {
		if err := writeBig(filepath.Join(root, fmt.Sprintf("big%02d.bin", i)), s.BigSize, rng, fill); err != nil {
			return st, err
		}
		st.Files++
		st.Bytes += s.BigSize
	}
	return st, nil
}

func writeBig(path string, size int64, rng *rand.Rand, fill *filler) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(chunk)) {
		b := chunk[:min(left, int64(len(chunk)))]
		fill.fill(rng, b)
		if _, err := f.Write(b); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// logUniform returns a size between lo and hi whose logarithm is uniform.
func logUniform(rng *rand.Rand, lo, hi int) int {
	if hi <= lo || lo <= 0 {
		return lo + rng.IntN(hi-lo+1)
	}
	l := math.Log(float64(lo)) + rng.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))
	return min(hi, max(lo, int(math.Exp(l))))
}

// filler writes Text or Random bytes.
type filler struct {
	content Content
	words   [][]byte // Text: 4096 words, each with its separator
	lines   [][]byte // Text: 4096 lines of words, each ending in a newline
	tmp     []byte   // Text: the line being made
}

func newFiller(c Content, seed uint64) *filler {
	f := &filler{content: c}
	if c != Text {
		return f
	}
	rng := rand.New(rand.NewPCG(seed, 0x77))
	const letters = "etaoinshrdlcumwfgypbvkjxqz_"
	seps := []byte("     (){};=,.")
	for range 4096 {
		w := make([]byte, 2+rng.IntN(9), 12)
		for j := range w {
			w[j] = letters[min(rng.IntN(len(letters)), rng.IntN(len(letters)))] // skewed to frequent letters
		}
		f.words = append(f.words, append(w, seps[rng.IntN(len(seps))]))
	}
	for range 4096 {
		f.lines = append(f.lines, f.appendLine(nil, rng))
	}
	return f
}

// appendLine appends a new line of 3 to 12 words, indented like code.
func (f *filler) appendLine(l []byte, rng *rand.Rand) []byte {
	l = append(l, "\t\t\t"[:rng.IntN(4)]...)
	for range 3 + rng.IntN(10) {
		v := rng.Uint64()
		l = append(l, f.words[(v&4095)>>((v>>12)%6)]...) // Zipf-like: a few words are very common
	}
	return append(l, '\n')
}

// fill fills b. Text is half lines repeated from a dictionary (as code and
// logs repeat lines), half new lines of common words: zstd compresses it
// about 3×, at the speeds it reaches on source code.
func (f *filler) fill(rng *rand.Rand, b []byte) {
	if f.content == Random {
		var w [8]byte
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(w[:], rng.Uint64())
			copy(b[i:], w[:])
		}
		return
	}
	for i := 0; i < len(b); {
		v := rng.Uint64()
		if v&1 == 0 {
			i += copy(b[i:], f.lines[(v>>1&4095)>>((v>>13)%4)])
		} else {
			f.tmp = f.appendLine(f.tmp[:0], rng)
			i += copy(b[i:], f.tmp)
		}
	}
}
