package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lvback/lvback/config"
	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/internal/hook"
	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
)

// printPlan says in plain words what a run of cfg would do, for
// --dry-run, and checks what can be checked without changing anything:
// the repository opens, and each volume's source exists and is of its
// kind (engine.CheckSource). It takes no lock, creates no repository and
// makes no snapshot. Every volume is listed; the error, if any, names
// every problem found and is a usage error (exit 2) when each one is the
// config's (a missing or wrong-kind source, no repository there).
func printPlan(ctx context.Context, g *globals, cfg *config.Config, metricsFile string) error {
	w := g.stdout
	fmt.Fprintf(w, "config %s\n", cfg.Path())
	layout, problems := planRepo(w, cfg.Repo)
	now := time.Now()
	for i := range cfg.Volumes {
		v := &cfg.Volumes[i]
		for _, err := range planVolume(ctx, w, cfg, v, layout, now) {
			problems = append(problems, fmt.Errorf("volume %s: %w", v.Name, err))
		}
	}
	planRun(w, cfg, metricsFile)
	return planError(problems)
}

// planRepo describes the repository and returns its file-mode layout
// ("" when it cannot be opened); a local one is opened (reading only), a
// remote one is not contacted.
func planRepo(w io.Writer, location string) (layout string, problems []error) {
	if repo.IsRemote(location) {
		fmt.Fprintf(w, "repository %s: remote, block-mode backups only (not contacted by --dry-run)\n", location)
		return "", nil
	}
	r, err := repo.Open(location)
	if err != nil {
		fmt.Fprintf(w, "repository %s\n  PROBLEM: %s\n", location, oneLine(err.Error()))
		return "", []error{err}
	}
	fmt.Fprintf(w, "repository %s: file trees in the %s layout\n", location, r.Layout)
	return r.Layout, nil
}

// planVolume describes one volume and returns what is wrong with it.
func planVolume(ctx context.Context, w io.Writer, cfg *config.Config, v *config.Volume, layout string, now time.Time) []error {
	o := cfg.VolumeOptions(v)
	fmt.Fprintf(w, "\nvolume %s\n", v.Name)
	var problems []error
	check := "ok"
	if err := engine.CheckSource(ctx, &o); err != nil {
		check, problems = "PROBLEM: "+oneLine(err.Error()), append(problems, err)
	}
	field(w, "source", fmt.Sprintf("%s %s (%s)", o.SourceKind(), o.Source(), check))
	field(w, "repository", cfg.Repo)
	field(w, "mode", modeWords(&o, layout))
	field(w, "snapshot", snapshotWords(&o, now))
	if o.RequireSnapshot && o.Path != "" && !o.Blocks {
		err := fmt.Errorf("require_snapshot: directory %s is %w: a run refuses it", o.Path, engine.ErrNotSnapshot)
		field(w, "", "PROBLEM: "+err.Error())
		problems = append(problems, err)
	}
	field(w, "hooks", hookWords(&o))
	field(w, "excludes", excludeWords(o.Blocks, o.Backup.Excludes))
	retention := "none: every backup is kept"
	if p, ok := cfg.Policy(v); ok {
		retention = p.String() + ", applied after the backup"
	}
	field(w, "retention", retention)
	if cfg.CopyTo != "" {
		field(w, "copy_to", "the new backup is then copied to "+cfg.CopyTo)
	}
	return problems
}

// field prints one "  name: text" line of a volume.
func field(w io.Writer, name, text string) {
	if name != "" {
		name += ":"
	}
	fmt.Fprintf(w, "  %-11s %s\n", name, text)
}

func modeWords(o *engine.VolumeOptions, layout string) string {
	if o.Blocks {
		return "blocks: the image read as chunks into the repository's shared chunk store, one chunk index per backup"
	}
	s := "files: a browsable tree per backup"
	switch layout {
	case repo.LayoutHardlink:
		s += ", unchanged files hard-linked to the previous backup (layout hardlink)"
	case repo.LayoutSubvolume:
		s += ", each a btrfs snapshot of the previous one with the changes applied (layout subvolume)"
	}
	if o.Backup.Checksum {
		s += "; every file's content compared by checksum"
	}
	return s
}

func snapshotWords(o *engine.VolumeOptions, now time.Time) string {
	switch {
	case o.LV != "":
		name := "" // a source given by another device name: lvs tells the name at run time
		if vg, lv, ok := lvm.SplitLV(o.LV); ok {
			name = " " + vg + "/" + lvm.SnapshotName(lv, now)
		}
		size := o.Snapshot.Size
		if size == "" {
			size = lvm.DefaultSize + " (the default)"
		}
		s := "LVM snapshot" + name + " of size " + size + " (a thin LV's takes no size)"
		if o.Blocks {
			return s + ", its device read, then removed (a thin LV's is kept for the next thin_delta)"
		}
		return s + ", mounted read-only under " + lvm.DefaultRunDir + ", then removed"
	case o.Btrfs != "":
		return "read-only btrfs snapshot " + lvm.BtrfsSnapshotPath(o.Btrfs, now) + ", then deleted"
	case o.Blocks:
		return "none: the image is read as it is"
	}
	return "none: the directory is read while it may change"
}

func hookWords(o *engine.VolumeOptions) string {
	if o.LV == "" && o.Btrfs == "" {
		return "none (no snapshot)"
	}
	var parts []string
	if o.Hooks.Before != "" {
		parts = append(parts, fmt.Sprintf("before the snapshot %q", o.Hooks.Before))
	}
	if o.Hooks.After != "" {
		parts = append(parts, fmt.Sprintf("after the snapshot %q", o.Hooks.After))
	}
	if len(parts) == 0 {
		return "none"
	}
	timeout := o.Hooks.Timeout
	if timeout == 0 {
		timeout = hook.DefaultTimeout
	}
	return strings.Join(parts, "; ") + fmt.Sprintf("; each killed after %s", timeout)
}

func excludeWords(blocks bool, s exclude.Spec) string {
	if blocks {
		return "none (block mode reads the whole image)"
	}
	var parts []string
	if len(s.Patterns) > 0 {
		parts = append(parts, "patterns "+strings.Join(s.Patterns, ", "))
	}
	if s.Caches {
		parts = append(parts, "cache directories (CACHEDIR.TAG)")
	}
	if len(s.IfPresent) > 0 {
		parts = append(parts, "directories holding "+strings.Join(s.IfPresent, " or "))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// planRun describes what happens once, after every volume.
func planRun(w io.Writer, cfg *config.Config, metricsFile string) {
	fmt.Fprintln(w, "\nafter the volumes")
	if cfg.CopyTo != "" {
		field(w, "copy_to", "each new backup copied to "+cfg.CopyTo+" (after retention); a failed copy fails the run")
	}
	for _, h := range []struct{ name, cmd string }{{"on_success", cfg.OnSuccess}, {"on_failure", cfg.OnFailure}} {
		if h.cmd != "" {
			field(w, h.name, fmt.Sprintf("%q, the run's JSON summary on its stdin", h.cmd))
		}
	}
	if metricsFile != "" {
		field(w, "metrics", "Prometheus metrics written to "+metricsFile)
	} else {
		field(w, "metrics", "none (no metrics_file)")
	}
}

// planError joins the problems into one error: a usage error when each
// is the config's.
func planError(problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	usage := true
	for i, p := range problems {
		msgs[i] = p.Error()
		usage = usage && (errors.Is(p, os.ErrNotExist) || errors.Is(p, engine.ErrSourceKind) ||
			errors.Is(p, repo.ErrNotRepo) || errors.Is(p, engine.ErrNotSnapshot))
	}
	err := fmt.Errorf("dry run found %d problem(s): %s", len(problems), strings.Join(msgs, "; "))
	if usage {
		return usageError{err}
	}
	return err
}
