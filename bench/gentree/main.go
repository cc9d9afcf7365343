// Command gentree writes a deterministic synthetic tree for benchmarks, or
// changes one: it never reads the clock or an unseeded random source, so
// the same flags always give the same bytes.
//
//	gentree -files 50000 -dirs 1000 DIR          # create
//	gentree -change 1 -add 0.1 -seed 2 DIR       # modify 1% of files, add 0.1%
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
)

func main() {
	files := flag.Int("files", 50000, "files to create")
	dirs := flag.Int("dirs", 1000, "directories to spread them over")
	minSize := flag.Int("min", 1024, "smallest file in bytes")
	maxSize := flag.Int("max", 16384, "largest file in bytes")
	big := flag.Int("big", 0, "extra files of 50 MiB")
	change := flag.Float64("change", 0, "percent of existing files to modify (append 64 bytes)")
	add := flag.Float64("add", 0, "percent of files to add")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gentree [flags] DIR")
		os.Exit(2)
	}
	root := flag.Arg(0)
	rng := rand.New(rand.NewSource(*seed))
	var err error
	if *change > 0 || *add > 0 {
		err = mutate(root, rng, *change, *add, *minSize, *maxSize)
	} else {
		err = create(root, rng, *files, *dirs, *minSize, *maxSize, *big)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}

func create(root string, rng *rand.Rand, files, dirs, minSize, maxSize, big int) error {
	buf := make([]byte, maxSize)
	for i := 0; i < files; i++ {
		d := filepath.Join(root, fmt.Sprintf("d%04d", i%dirs))
		if i < dirs {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		n := minSize + rng.Intn(maxSize-minSize+1)
		fill(rng, buf[:n])
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d", i)), buf[:n], 0o644); err != nil {
			return err
		}
	}
	chunk := make([]byte, 1<<20)
	for i := 0; i < big; i++ {
		f, err := os.Create(filepath.Join(root, fmt.Sprintf("big%02d.bin", i)))
		if err != nil {
			return err
		}
		for j := 0; j < 50; j++ {
			fill(rng, chunk)
			if _, err := f.Write(chunk); err != nil {
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// fill writes compressible-ish bytes: random words from a small alphabet,
// like text or source code.
func fill(rng *rand.Rand, b []byte) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz      \n{}();=,."
	for i := range b {
		b[i] = alphabet[rng.Intn(len(alphabet))]
	}
}

func mutate(root string, rng *rand.Rand, change, add float64, minSize, maxSize int) error {
	var all []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			all = append(all, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(all)
	tail := make([]byte, 64)
	for _, i := range rng.Perm(len(all))[:int(float64(len(all))*change/100)] {
		f, err := os.OpenFile(all[i], os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		fill(rng, tail)
		_, err = f.Write(tail)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	buf := make([]byte, maxSize)
	for i := 0; i < int(float64(len(all))*add/100); i++ {
		n := minSize + rng.Intn(maxSize-minSize+1)
		fill(rng, buf[:n])
		p := filepath.Join(filepath.Dir(all[rng.Intn(len(all))]), fmt.Sprintf("new-%d-%d", rng.Int63(), i))
		if err := os.WriteFile(p, buf[:n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
