// Command bench measures lvback side by side with rsync, cp and dd on the
// same data in one run (issue 6), prints one table with the ratios and the
// issue's targets, and writes the same as JSON to bench/results/. Linux
// only; as root it works on a loop-mounted scratch ext4 and adds the block
// cases, and, when asked, the s3 cases: lvback with a local and an s3:
// repository and restic 0.18, against a SeaweedFS server it starts on
// loopback. It never touches anything outside its scratch directory and
// the server it started.
//
//	go run ./bench                                   # the default run (make bench)
//	go run ./bench -files 2000 -image-mib 64 -reps 1 # a quick look
//	go run ./bench -cases incr,nochange -real none
//	go run ./bench -cases s3first,s3incr -real none  # make bench-s3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/lvback/lvback/bench/internal/treegen"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == launchArg {
		os.Exit(launch(os.Args[2:]))
	}
	if len(os.Args) == 3 && os.Args[1] == zstdBoundArg {
		os.Exit(zstdBoundMain(os.Args[2]))
	}
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	// SIGPIPE too: a closed stdout (| head) must not skip the cleanup.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer stop()
	if err := runAll(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

// runAll makes the scratch space and the data sets, runs every selected
// case o.reps times, then prints the table and writes the JSON.
func runAll(ctx context.Context, o options, stdout, log io.Writer) (err error) {
	started := time.Now()
	mod, err := moduleDir(ctx)
	if err != nil && (o.lvback == "" || o.out == "") {
		return fmt.Errorf("%w, or give -lvback and -out", err)
	}
	realSrc := realSource(o.real)
	var realBytes int64
	if realSrc != "" {
		if _, _, realBytes, err = countTree(realSrc); err != nil {
			return err
		}
	}
	sc, err := newScratch(ctx, o.workdir, scratchGiB(o, realBytes), o.fs, o.btrfsMetadata)
	if sc != nil {
		defer func() {
			if cerr := sc.close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cleaning up %s: %w", sc.work, cerr))
			}
		}()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "scratch: %s\n", sc.desc)
	b := &bench{ctx: ctx, o: o, lvback: o.lvback, sc: sc, log: log, missing: map[string]bool{}}
	if b.lvback == "" {
		b.lvback = filepath.Join(sc.work, "lvback")
		if err := run(ctx, "go", "build", "-C", mod, "-o", b.lvback, "./cmd/lvback"); err != nil {
			return err
		}
	}
	// The server first: without weed the s3 cases are skipped before
	// their image is made.
	if o.s3Cases() && sc.root {
		if b.s3, err = b.startS3(); err != nil {
			return err
		}
		if b.s3 != nil {
			// Before the scratch file system is unmounted: its data is there.
			defer func() {
				if serr := b.s3.stop(); serr != nil {
					err = errors.Join(err, fmt.Errorf("stopping the s3 server: %w", serr))
				}
			}()
		}
	}
	trees, images, err := b.makeDatasets(realSrc)
	if err != nil {
		return err
	}
	for _, d := range trees {
		for rep := range o.reps {
			if err := b.fileRep(d, rep); err != nil {
				return err
			}
		}
	}
	for _, d := range images {
		for rep := range o.reps {
			if err := b.blockRep(d, rep); err != nil {
				return err
			}
			if err := b.s3Rep(d, rep); err != nil {
				return err
			}
		}
	}
	rep := b.report(ctx, mod, append(trees, images...), started)
	printReport(stdout, rep)
	out := o.out
	if out == "" {
		out = resultPath(filepath.Join(mod, "bench", "results"), rep.Date, rep.Host)
	}
	if err := writeJSON(out, rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "results: %s\n", out)
	return nil
}

// makeDatasets builds the data sets the selected cases need, logging how
// long each took.
func (b *bench) makeDatasets(realSrc string) (trees, images []Dataset, err error) {
	dir := filepath.Join(b.sc.dir, "pristine")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, nil, err
	}
	made := func(d Dataset, start time.Time) {
		fmt.Fprintf(b.log, "data %s: %s, %s (%.1fs)\n", d.Name, d.About, human(d.Bytes), time.Since(start).Seconds())
	}
	if b.o.fileCases() {
		start := time.Now()
		d, err := makeSynth(b.o, dir)
		if err != nil {
			return nil, nil, err
		}
		made(d, start)
		trees = append(trees, d)
		if note := issue16Size(b.o, d); note != "" {
			b.skipped = append(b.skipped, note)
		}
		if realSrc == "" {
			b.skipped = append(b.skipped, "no real tree (-real "+b.o.real+"): the file cases run on the synthetic tree only")
		} else {
			start = time.Now()
			if d, err = copyReal(b.ctx, realSrc, dir); err != nil {
				return nil, nil, err
			}
			made(d, start)
			trees = append(trees, d)
		}
	}
	// As root without weed, startS3 has noted the s3 cases as skipped.
	s3 := b.o.s3Cases() && (!b.sc.root || b.s3 != nil)
	if !b.o.blockCases() && !s3 {
		return trees, nil, nil
	}
	if !b.sc.root {
		b.skipped = append(b.skipped, "block and s3 cases: making and filling an ext4 image needs root, loop devices and mkfs.ext4")
		return trees, nil, nil
	}
	for _, c := range []struct {
		name    string
		content treegen.Content
	}{{s3Image, treegen.Text}, {"img-random", treegen.Random}} {
		if !b.o.blockCases() && c.name != s3Image {
			continue // the s3 cases use one image
		}
		start := time.Now()
		d, err := makeImage(b.ctx, b.o, dir, c.name, c.content)
		if err != nil {
			return nil, nil, err
		}
		made(d, start)
		images = append(images, d)
	}
	return trees, images, nil
}

// report assembles the results of the run.
func (b *bench) report(ctx context.Context, mod string, datasets []Dataset, started time.Time) *Report {
	host, _ := os.Hostname()
	kernel, _ := output(ctx, "uname", "-r")
	commit, err := output(ctx, "git", "-C", mod, "rev-parse", "--short", "HEAD")
	if err != nil || mod == "" {
		commit = "unknown"
	} else if st, _ := output(ctx, "git", "-C", mod, "status", "--porcelain", "--untracked-files=no"); st != "" {
		commit += "+dirty"
	}
	if b.o.lvback != "" {
		commit = b.o.lvback + " (prebuilt)"
	}
	finish(b.rows, datasets)
	l := legend(b.o)
	if b.s3 != nil {
		l = append(l, b.s3.about...)
	}
	return &Report{
		Date: started.UTC().Format("2006-01-02"), Host: host, Kernel: kernel, CPUs: runtime.NumCPU(), Commit: commit,
		Command: strings.TrimSpace("go run ./bench " + strings.Join(os.Args[1:], " ")), Reps: b.o.reps, Scratch: b.sc.desc,
		Legend: l, Datasets: datasets, Rows: b.rows, Skipped: b.skipped, Seconds: time.Since(started).Seconds(),
	}
}

// issue16Size says when a -fs btrfs run's synthetic tree is smaller than
// the one issue 16's targets are set for; "" when it is not.
func issue16Size(o options, d Dataset) string {
	if !o.btrfs() || (d.Files >= issue16Files && d.Dirs >= issue16Dirs) {
		return ""
	}
	return fmt.Sprintf("issue 16's targets are set for a tree of >= %d files in >= %d dirs; %s has %d files in %d dirs", issue16Files, issue16Dirs, d.Name, d.Files, d.Dirs)
}

// moduleDir is the root of the lvback module, which the harness builds
// lvback from and writes its results into.
func moduleDir(ctx context.Context) (string, error) {
	gomod, err := output(ctx, "go", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the harness inside the lvback module (go run ./bench)")
	}
	return filepath.Dir(gomod), nil
}
