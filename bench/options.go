package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"
)

// All tunable defaults, with the reason for each. The sizes are issue 6's;
// the repetitions and the real tree were chosen so that `make bench`
// finishes in about 10 minutes on a 2-core machine (README, "Benchmarks").
const (
	defaultFiles    = 100_000 // issue 6: 100,000 files ...
	defaultDirs     = 2_000   // ... in 2,000 directories ...
	defaultMinKiB   = 1       // ... of 1-64 KiB (log-uniform: most files small, like real trees) ...
	defaultMaxKiB   = 64      //
	defaultBigFiles = 3       // ... plus a few files of 100 MiB
	defaultBigMiB   = 100     //
	defaultImageMiB = 1024    // issue 6: a 1 GiB file-system image for block mode
	defaultReps     = 3       // median of 3, as in shared/notes/baseline.md
	defaultSeed     = 1       //

	// imageFill is the share of an image's file system filled with files:
	// a realistic, mostly full volume that still has never-written (zero)
	// chunks, as real volumes do.
	imageFill = 0.7
	// chunkSize is lvback's block-mode chunk (README: 2 MiB), used for the
	// zstd bound and to change "1% of the chunks".
	chunkSize = 2 << 20
	// settlePause follows the syncfs before each timed run (baseline notes:
	// "delete, sync, wait, then time"). syncfs already waits for writeback
	// and the journal commit, and without discard no TRIM follows, so a
	// short pause does.
	settlePause = 250 * time.Millisecond
	// quietFor, quietPoll, quietMax: after the pause the settle waits until
	// the scratch device has written nothing for quietFor (polled every
	// quietPoll), at most quietMax, which covers btrfs's 30 s commit.
	quietFor  = time.Second
	quietPoll = 100 * time.Millisecond
	quietMax  = 35 * time.Second
	// rssLimit is issue 6's peak RSS target for lvback.
	rssLimit = 200e6
)

// The mutation between a baseline and an incremental backup (issue 6).
const (
	changePct = 1.0 // files modified
	addPct    = 0.1 // files added
	removePct = 0.1 // files removed
	// blockChangePct is the share of an image's 2 MiB chunks that get a
	// 64 KiB piece overwritten for the block "1% changed" case.
	blockChangePct = 1.0
)

// Short case names for -cases, and the cases each one stands for.
var caseFlags = map[string][]string{
	"full":     {caseFull},
	"incr":     {caseIncr},
	"nochange": {caseNoChange},
	"verify":   {caseVerify},
	"prune":    {casePrune},
	"block":    {caseBlockFirst, caseBlockIncr, caseBlockRestore},
	"blockmem": {caseBlockMem},
	"s3first":  {caseS3First},
	"s3incr":   {caseS3Incr},
}

// caseOrder lists the short names for -cases; defaultCases are the ones
// a run without -cases measures. The s3 cases are left out of it: they
// need a SeaweedFS binary and restic 0.18, each built once per machine
// (make weed, make restic), and add minutes (make bench-s3 runs them).
var (
	caseOrder    = []string{"full", "incr", "nochange", "verify", "prune", "block", "blockmem", "s3first", "s3incr"}
	defaultCases = caseOrder[:7]
)

// options are the harness's flags.
type options struct {
	files, dirs      int
	minKiB, maxKiB   int
	bigFiles, bigMiB int
	real             string // tree to copy as the "real" data set; "auto" or "none"
	imageMiB         int
	reps             int
	cases            map[string]bool // long case names
	out              string          // JSON file; "" = bench/results/DATE-HOST.json
	workdir          string          // parent of the scratch directory
	lvback           string          // prebuilt binary; "" = build ./cmd/lvback
	seed             uint64
	fs               string // scratch file system: ext4 or btrfs
	btrfsMetadata    string // -fs btrfs: mkfs.btrfs metadata profile, dup or single
}

// Scratch file systems for -fs.
const (
	fsExt4  = "ext4"
	fsBtrfs = "btrfs"
)

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&o.files, "files", defaultFiles, "small files in the synthetic tree")
	fs.IntVar(&o.dirs, "dirs", defaultDirs, "directories of the synthetic tree")
	fs.IntVar(&o.minKiB, "min-kib", defaultMinKiB, "smallest synthetic file, KiB")
	fs.IntVar(&o.maxKiB, "max-kib", defaultMaxKiB, "largest small synthetic file, KiB")
	fs.IntVar(&o.bigFiles, "bigfiles", defaultBigFiles, "large files in the synthetic tree")
	fs.IntVar(&o.bigMiB, "bigfile-mib", defaultBigMiB, "size of each large file, MiB")
	fs.StringVar(&o.real, "real", "auto", "real tree to copy as a data set: a directory, auto (/usr/local/go/src, else /usr/share) or none")
	fs.IntVar(&o.imageMiB, "image-mib", defaultImageMiB, "size of each block-mode image, MiB")
	fs.IntVar(&o.reps, "reps", defaultReps, "repetitions of every case")
	cases := fs.String("cases", strings.Join(defaultCases, ","), "comma-separated cases: "+strings.Join(caseOrder, ",")+" (s3first and s3incr, the s3: repository cases, need root, make weed and make restic)")
	fs.StringVar(&o.out, "out", "", "JSON results file (default bench/results/DATE-HOST.json in the module)")
	fs.StringVar(&o.workdir, "workdir", "/var/tmp", "directory for the scratch file system and data")
	fs.StringVar(&o.lvback, "lvback", "", "lvback binary to measure (default: build ./cmd/lvback into the scratch directory)")
	fs.Uint64Var(&o.seed, "seed", defaultSeed, "seed of every generated data set and mutation")
	fs.StringVar(&o.fs, "fs", fsExt4, "scratch file system (root): ext4, or btrfs to measure lvback's subvolume and hardlink layouts beside rsync (issue 16)")
	fs.StringVar(&o.btrfsMetadata, "btrfs-metadata", "dup", "with -fs btrfs, the metadata profile mkfs.btrfs gives the scratch file system: dup (its default since btrfs-progs 5.15: every metadata block is written twice) or single")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.files < 1 || o.dirs < 1 || o.minKiB < 1 || o.maxKiB < o.minKiB || o.reps < 1 || o.imageMiB < 16 || o.bigFiles < 0 || o.bigMiB < 1 {
		return o, fmt.Errorf("sizes must be positive, -max-kib >= -min-kib and -image-mib >= 16")
	}
	if o.fs != fsExt4 && o.fs != fsBtrfs {
		return o, fmt.Errorf("-fs %q: want ext4 or btrfs", o.fs)
	}
	if o.btrfsMetadata != "dup" && o.btrfsMetadata != "single" {
		return o, fmt.Errorf("-btrfs-metadata %q: want dup or single", o.btrfsMetadata)
	}
	o.cases = map[string]bool{}
	for c := range strings.SplitSeq(*cases, ",") {
		long, ok := caseFlags[strings.TrimSpace(c)]
		if !ok {
			return o, fmt.Errorf("unknown case %q (want some of %s)", c, strings.Join(caseOrder, ","))
		}
		for _, l := range long {
			o.cases[l] = true
		}
	}
	return o, nil
}

// btrfs reports whether the run is issue 16's: a btrfs scratch file system
// with lvback in both layouts.
func (o options) btrfs() bool { return o.fs == fsBtrfs }

// blockCases reports whether any block-mode case is selected.
func (o options) blockCases() bool {
	return slices.ContainsFunc([]string{caseBlockFirst, caseBlockMem, caseBlockIncr, caseBlockRestore}, func(c string) bool { return o.cases[c] })
}

// s3Cases reports whether any case with an s3: repository is selected.
func (o options) s3Cases() bool { return o.cases[caseS3First] || o.cases[caseS3Incr] }

// fileCases reports whether any file-mode case is selected.
func (o options) fileCases() bool {
	return slices.ContainsFunc([]string{caseFull, caseIncr, caseNoChange, caseVerify, casePrune}, func(c string) bool { return o.cases[c] })
}
