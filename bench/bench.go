package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lvback/lvback/internal/durable"
)

// bench runs the cases and collects their rows. It is used from one
// goroutine.
type bench struct {
	ctx     context.Context
	o       options
	lvback  string // binary under test
	sc      *scratch
	log     io.Writer // progress lines
	rows    []*Row
	skipped []string        // why a case or peer did not run
	missing map[string]bool // peer programs not found
	s3      *s3Side         // the s3 cases' server and restic; nil without them
}

// step is one command a case times.
type step struct {
	tool string
	argv []string
	// dest is where the run writes: the allocated size of the inodes it
	// creates there is its "written" figure. "" for runs that write nothing.
	dest string
	// sync adds a "tool +sync" row: the run followed by `sync -f` of the
	// scratch file system, timed together (lvback syncs by itself).
	sync bool
	// post, if set, is a command run after the run and timed with it in a
	// second row, the tool's name + postSuffix (as sync adds " +sync"):
	// the btrfs cleaner's wait after a subvolume prune.
	post       []string
	postSuffix string
	// repo and name, for an lvback backup, are where the manifest size
	// of the backup made is read from (issue 16 reports it).
	repo, name string
	// env is added to the harness's environment for the run (an s3:
	// repository's credentials and cache directory).
	env []string
	// stored, if set, returns what the run's destination holds now (the
	// object bytes under an s3: repository's prefix): the run's "written"
	// figure is its growth over the run, in place of dest's.
	stored func() (int64, error)
	// serverCPU, if set, returns the CPU time the server the run talks to
	// has used so far (the s3 cases' weed): the run's server CPU is its
	// growth over the run.
	serverCPU func() (time.Duration, error)
	// evict lists paths dropped from the page cache before the run.
	evict []string
	// coldInodes drops the kernel's dentry and inode caches before the
	// run (drop_caches 2, root only): a nightly prune removes a backup
	// written days before, whose inodes were evicted long ago, while the
	// bench prunes one it wrote minutes earlier. Deleting a subvolume
	// evicts its cached inodes first (about 0.5 s for 100,000 of them),
	// and rm -rf finds them cached too.
	coldInodes bool
	// input is the byte count a rate (MB/s) is reported over; 0 for none.
	input int64
	// optional steps run only when the case is measured (cp -a in the
	// full case is no baseline for anything that follows).
	optional bool
}

// compare runs steps of one case on one data set in the given order in
// repetitions 1, 3, ... (rep 0, 2, ...; lvback comes first) and reversed in
// the others, each after a settle, and records a sample per step. A case not selected with -cases still runs its
// non-optional steps, untimed, when later cases build on their results.
func (b *bench) compare(cas string, d Dataset, rep int, steps []step) error {
	measured := b.o.cases[cas]
	if rep%2 == 1 {
		steps = slices.Clone(steps)
		slices.Reverse(steps)
	}
	var line []string
	for _, s := range steps {
		if !measured && s.optional {
			continue
		}
		if s.sync {
			s.post, s.postSuffix = []string{"sync", "-f", b.sc.dir}, syncSuffix
		}
		devBefore := int64(-1)
		if measured {
			if err := b.sc.settle(b.ctx); err != nil {
				return err
			}
			if err := evict(s.evict...); err != nil {
				return err
			}
			if s.coldInodes && b.sc.root {
				if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2\n"), 0); err != nil {
					return fmt.Errorf("drop the inode cache: %w", err)
				}
			}
			var err error
			if devBefore, err = b.sc.devWritten(); err != nil {
				return err
			}
		}
		var storedBefore int64
		if measured && s.stored != nil {
			var err error
			if storedBefore, err = s.stored(); err != nil {
				return fmt.Errorf("measuring what %s holds: %w", s.tool, err)
			}
		}
		var serverBefore time.Duration
		if measured && s.serverCPU != nil {
			var err error
			if serverBefore, err = s.serverCPU(); err != nil {
				return fmt.Errorf("server CPU before %s: %w", s.tool, err)
			}
		}
		start := time.Now()
		sample, err := timeCmd(b.ctx, s.argv, s.env)
		if err != nil {
			return fmt.Errorf("%s, %s: %w", cas, d.Name, err)
		}
		if s.post != nil {
			ps, err := timeCmd(b.ctx, s.post, nil)
			if err != nil {
				return err
			}
			sample.Sync = ps.Wall
		}
		if !measured {
			continue
		}
		if s.serverCPU != nil {
			after, err := s.serverCPU()
			if err != nil {
				return fmt.Errorf("server CPU after %s: %w", s.tool, err)
			}
			sample.ServerCPU = after - serverBefore
		}
		if sample.DevWritten, err = b.devWrittenSince(devBefore); err != nil {
			return err
		}
		switch {
		case s.stored != nil:
			after, err := s.stored()
			if err != nil {
				return fmt.Errorf("measuring what %s stored: %w", s.tool, err)
			}
			sample.Written = after - storedBefore
		case s.dest != "":
			if sample.Written, err = writtenSince(s.dest, start); err != nil {
				return fmt.Errorf("measuring what %s wrote: %w", s.tool, err)
			}
		}
		if s.repo != "" {
			if sample.Manifest, err = b.manifestSize(s.repo, s.name); err != nil {
				return err
			}
		}
		b.record(cas, d.Name, s.tool, s.input, sample)
		if s.post != nil {
			ws := sample
			ws.Wall += sample.Sync
			b.record(cas, d.Name, s.tool+s.postSuffix, s.input, ws)
		}
		line = append(line, fmt.Sprintf("%s %.2fs", s.tool, sample.Wall.Seconds()))
	}
	if measured {
		fmt.Fprintf(b.log, "  %s, %s, rep %d: %s\n", cas, d.Name, rep+1, strings.Join(line, ", "))
	}
	return nil
}

// record adds a sample to the row of (cas, data, tool), made on first use;
// rows keep the order they were first recorded in.
func (b *bench) record(cas, data, tool string, input int64, s Sample) {
	for _, r := range b.rows {
		if r.Case == cas && r.Data == data && r.Tool == tool {
			r.Samples = append(r.Samples, s)
			return
		}
	}
	b.rows = append(b.rows, &Row{Case: cas, Data: data, Tool: tool, Input: input, Samples: []Sample{s}})
}

// devWrittenSince is what the scratch loop device has been written since
// the count before (-1: not measured), after a syncfs so that what the run
// left dirty counts.
func (b *bench) devWrittenSince(before int64) (int64, error) {
	if before < 0 {
		return -1, nil
	}
	if err := durable.SyncFS(b.sc.dir); err != nil {
		return -1, err
	}
	after, err := b.sc.devWritten()
	if err != nil || after < before {
		return -1, err
	}
	return after - before, nil
}

// manifestSize is the size of the manifest of the newest backup of name
// in repo (repo/backups/NAME/ID/manifest.zst).
func (b *bench) manifestSize(repo, name string) (int64, error) {
	id, err := b.newestID(repo, name)
	if err != nil {
		return -1, err
	}
	st, err := os.Stat(filepath.Join(repo, "backups", name, id, "manifest.zst"))
	if err != nil {
		return -1, err
	}
	return st.Size(), nil
}

// lv is an lvback command line, quiet.
func (b *bench) lv(args ...string) []string {
	return append([]string{b.lvback, "-q"}, args...)
}

// initRepo creates a repository at path, untimed (as an operator runs
// `lvback init` once), with the given layout ("" = lvback's default).
func (b *bench) initRepo(path, layout string) error {
	args := []string{"init", "--repo", path}
	if layout != "" {
		args = append(args, "--layout", layout)
	}
	return run(b.ctx, b.lv(args...)...)
}

// have reports whether a peer program is installed, and notes it once in
// the skipped list when it is not.
func (b *bench) have(prog, what string) bool {
	if _, err := exec.LookPath(prog); err == nil {
		return true
	}
	if !b.missing[prog] {
		b.missing[prog] = true
		b.skipped = append(b.skipped, fmt.Sprintf("%s not found: %s skipped", prog, what))
	}
	return false
}

// keep drops the steps whose program is missing.
func (b *bench) keep(steps []step, what string) []step {
	return slices.DeleteFunc(steps, func(s step) bool { return !isLvback(s.tool) && !b.have(s.argv[0], what) })
}
