// Command gentree writes a deterministic synthetic tree for benchmarks, or
// changes one (package bench/internal/treegen, which the harness in bench/
// uses too): it never reads the clock or an unseeded random source, so the
// same flags always give the same bytes.
//
//	gentree -files 50000 -dirs 1000 DIR                # create
//	gentree -change 1 -add 0.1 -remove 0.1 -seed 2 DIR # modify 1% of files, add and remove 0.1%
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lvback/lvback/bench/internal/treegen"
)

func main() {
	files := flag.Int("files", 50000, "files to create")
	dirs := flag.Int("dirs", 1000, "directories to spread them over")
	minSize := flag.Int("min", 1024, "smallest file in bytes")
	maxSize := flag.Int("max", 65536, "largest file in bytes (sizes are log-uniform)")
	big := flag.Int("big", 0, "extra large files")
	bigMiB := flag.Int64("big-mib", 100, "size of each large file in MiB")
	random := flag.Bool("random", false, "incompressible content instead of text-like")
	change := flag.Float64("change", 0, "percent of existing files to modify (append 64 bytes)")
	add := flag.Float64("add", 0, "percent of files to add")
	remove := flag.Float64("remove", 0, "percent of files to remove")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gentree [flags] DIR")
		os.Exit(2)
	}
	content := treegen.Text
	if *random {
		content = treegen.Random
	}
	var err error
	if *change > 0 || *add > 0 || *remove > 0 {
		_, err = treegen.Mutate(flag.Arg(0), treegen.Mutation{ChangePct: *change, AddPct: *add, RemovePct: *remove,
			MinSize: *minSize, MaxSize: *maxSize, Content: content, Seed: *seed})
	} else {
		_, err = treegen.Create(flag.Arg(0), treegen.Spec{Files: *files, Dirs: *dirs, MinSize: *minSize, MaxSize: *maxSize,
			BigFiles: *big, BigSize: *bigMiB << 20, Content: content, Seed: *seed})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}
