package main

import (
	"context"
	"encoding/json"
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
	"github.com/lvback/lvback/retention"
)

// dryRunPlan is what `run --dry-run` reports: in words, or with --json
// as this one object (the fields are documented in run's --help).
type dryRunPlan struct {
	Config      string       `json:"config"`
	Repository  planRepo     `json:"repository"`
	Volumes     []volumePlan `json:"volumes"`
	CopyTo      string       `json:"copy_to,omitempty"`
	OnSuccess   string       `json:"on_success,omitempty"`
	OnFailure   string       `json:"on_failure,omitempty"`
	MetricsFile string       `json:"metrics_file,omitempty"`
	Problems    []string     `json:"problems"` // every problem, each prefixed by its volume's
	problems    []error
}

// planRepo is the repository as the dry run found it.
type planRepo struct {
	Location string `json:"location"`
	Remote   bool   `json:"remote"`
	Layout   string `json:"layout,omitempty"` // file-mode layout of a local one
	Problem  string `json:"problem,omitempty"`
}

// volumePlan is what a run would do with one volume.
type volumePlan struct {
	Name       string         `json:"name"`
	Source     string         `json:"source"`
	Kind       string         `json:"kind"` // engine.VolumeOptions.SourceKind
	Mode       string         `json:"mode"` // files or blocks
	Repository string         `json:"repository"`
	Layout     string         `json:"layout,omitempty"`
	Snapshot   string         `json:"snapshot"`
	Hooks      planHooks      `json:"hooks"`
	Excludes   planExcludes   `json:"excludes"`
	Retention  *planRetention `json:"retention"` // null: every backup is kept
	Tags       []string       `json:"tags"`
	CopyTo     string         `json:"copy_to,omitempty"`
	Problems   []string       `json:"problems"`
	modeWords  string         // Mode in words, for the text plan
	check      string         // "ok", or the source's problem, for the text plan
}

// planHooks are a volume's snapshot hooks.
type planHooks struct {
	Before  string  `json:"before_snapshot,omitempty"`
	After   string  `json:"after_snapshot,omitempty"`
	Timeout float64 `json:"timeout_seconds,omitempty"`
	Words   string  `json:"words"`
}

// planExcludes are a volume's exclude rules.
type planExcludes struct {
	Patterns  []string `json:"patterns"`
	Caches    bool     `json:"caches"`
	IfPresent []string `json:"if_present"`
	Words     string   `json:"words"`
}

// planRetention is a volume's policy, its fields as in the config.
type planRetention struct {
	retention.Policy
	Within string `json:"keep_within,omitempty"`
	Words  string `json:"words"`
}

// printPlan says what a run of cfg would do, for --dry-run, in plain
// words or as one JSON object, and checks what can be checked without
// changing anything: the repository opens, and each volume's source
// exists and is of its kind (engine.CheckSource). It takes no lock,
// creates no repository and makes no snapshot. Every volume is listed;
// the error, if any, names every problem found and is a usage error
// (exit 2) when each one is the config's (a missing or wrong-kind
// source, no repository there).
func printPlan(ctx context.Context, g *globals, cfg *config.Config, metricsFile string, asJSON bool) error {
	p := makePlan(ctx, cfg, metricsFile, time.Now())
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return err
		}
	} else {
		p.writeText(g.stdout)
	}
	return planError(p.problems)
}

// makePlan checks and describes cfg.
func makePlan(ctx context.Context, cfg *config.Config, metricsFile string, now time.Time) *dryRunPlan {
	p := &dryRunPlan{Config: cfg.Path(), Volumes: []volumePlan{}, Problems: []string{},
		CopyTo: cfg.CopyTo, OnSuccess: cfg.OnSuccess, OnFailure: cfg.OnFailure, MetricsFile: metricsFile}
	var err error
	if p.Repository, err = checkRepo(cfg.Repo); err != nil {
		p.problems = append(p.problems, err)
	}
	for i := range cfg.Volumes {
		v := &cfg.Volumes[i]
		vp, errs := planVolume(ctx, cfg, v, p.Repository.Layout, now)
		for _, err := range errs {
			p.problems = append(p.problems, fmt.Errorf("volume %s: %w", v.Name, err))
		}
		p.Volumes = append(p.Volumes, vp)
	}
	for _, err := range p.problems {
		p.Problems = append(p.Problems, oneLine(err.Error()))
	}
	return p
}

// checkRepo opens a local repository (reading only) for its layout; a
// remote one is not contacted.
func checkRepo(location string) (planRepo, error) {
	if repo.IsRemote(location) {
		return planRepo{Location: location, Remote: true}, nil
	}
	r, err := repo.Open(location)
	if err != nil {
		return planRepo{Location: location, Problem: oneLine(err.Error())}, err
	}
	return planRepo{Location: location, Layout: r.Layout}, nil
}

// planVolume describes one volume and returns what is wrong with it.
func planVolume(ctx context.Context, cfg *config.Config, v *config.Volume, layout string, now time.Time) (volumePlan, []error) {
	o := cfg.VolumeOptions(v)
	vp := volumePlan{Name: v.Name, Source: o.Source(), Kind: o.SourceKind(), Mode: repo.ModeFiles, Repository: cfg.Repo,
		Snapshot: snapshotWords(&o, now), Tags: o.Backup.Tags, CopyTo: cfg.CopyTo, Problems: []string{},
		modeWords: modeWords(&o, layout), check: "ok"}
	if o.Blocks {
		vp.Mode = repo.ModeBlocks
	} else {
		vp.Layout = layout
	}
	if vp.Tags == nil {
		vp.Tags = []string{}
	}
	var problems []error
	if err := engine.CheckSource(ctx, &o); err != nil {
		vp.check, problems = "PROBLEM: "+oneLine(err.Error()), append(problems, err)
	}
	if o.RequireSnapshot && o.Path != "" && !o.Blocks {
		problems = append(problems, fmt.Errorf("require_snapshot: directory %s is %w: a run refuses it", o.Path, engine.ErrNotSnapshot))
	}
	for _, err := range problems {
		vp.Problems = append(vp.Problems, oneLine(err.Error()))
	}
	vp.Hooks = planHooks{Before: o.Hooks.Before, After: o.Hooks.After, Words: hookWords(&o)}
	if o.Hooks.Before != "" || o.Hooks.After != "" {
		vp.Hooks.Timeout = hookTimeout(&o).Seconds()
	}
	e := o.Backup.Excludes
	vp.Excludes = planExcludes{Patterns: nonNil(e.Patterns), Caches: e.Caches, IfPresent: nonNil(e.IfPresent), Words: excludeWords(o.Blocks, e)}
	if o.Blocks {
		vp.Excludes = planExcludes{Patterns: []string{}, IfPresent: []string{}, Words: vp.Excludes.Words}
	}
	if pol, ok := cfg.Policy(v); ok {
		vp.Retention = &planRetention{Policy: pol, Words: pol.String()}
		if pol.Within > 0 {
			vp.Retention.Within = retention.FormatDuration(pol.Within)
		}
	}
	return vp, problems
}

// nonNil is s, or an empty list for nil (JSON [] rather than null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeText prints the plan in words, one paragraph per volume.
func (p *dryRunPlan) writeText(w io.Writer) {
	fmt.Fprintf(w, "config %s\n", p.Config)
	r := p.Repository
	switch {
	case r.Remote:
		fmt.Fprintf(w, "repository %s: remote, block-mode backups only (not contacted by --dry-run)\n", r.Location)
	case r.Problem != "":
		fmt.Fprintf(w, "repository %s\n  PROBLEM: %s\n", r.Location, r.Problem)
	default:
		fmt.Fprintf(w, "repository %s: file trees in the %s layout\n", r.Location, r.Layout)
	}
	for i := range p.Volumes {
		p.Volumes[i].writeText(w)
	}
	p.writeRunText(w)
}

// writeText prints one volume's paragraph.
func (vp *volumePlan) writeText(w io.Writer) {
	fmt.Fprintf(w, "\nvolume %s\n", vp.Name)
	field(w, "source", fmt.Sprintf("%s %s (%s)", vp.Kind, vp.Source, vp.check))
	field(w, "repository", vp.Repository)
	field(w, "mode", vp.modeWords)
	field(w, "snapshot", vp.Snapshot)
	for _, prob := range vp.Problems {
		if "PROBLEM: "+prob != vp.check {
			field(w, "", "PROBLEM: "+prob)
		}
	}
	field(w, "hooks", vp.Hooks.Words)
	field(w, "excludes", vp.Excludes.Words)
	retention := "none: every backup is kept"
	if vp.Retention != nil {
		retention = vp.Retention.Words + ", applied after the backup"
	}
	field(w, "retention", retention)
	tags := "none"
	if len(vp.Tags) > 0 {
		tags = strings.Join(vp.Tags, ", ")
	}
	field(w, "tags", tags)
	if vp.CopyTo != "" {
		field(w, "copy_to", "the new backup is then copied to "+vp.CopyTo)
	}
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
	return strings.Join(parts, "; ") + fmt.Sprintf("; each killed after %s", hookTimeout(o))
}

// hookTimeout is how long each of o's snapshot hooks may run.
func hookTimeout(o *engine.VolumeOptions) time.Duration {
	if o.Hooks.Timeout == 0 {
		return hook.DefaultTimeout
	}
	return o.Hooks.Timeout
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

// writeRunText describes what happens once, after every volume.
func (p *dryRunPlan) writeRunText(w io.Writer) {
	fmt.Fprintln(w, "\nafter the volumes")
	if p.CopyTo != "" {
		field(w, "copy_to", "each new backup copied to "+p.CopyTo+" (after retention); a failed copy fails the run")
	}
	for _, h := range []struct{ name, cmd string }{{"on_success", p.OnSuccess}, {"on_failure", p.OnFailure}} {
		if h.cmd != "" {
			field(w, h.name, fmt.Sprintf("%q, the run's JSON summary on its stdin", h.cmd))
		}
	}
	if p.MetricsFile != "" {
		field(w, "metrics", "Prometheus metrics written to "+p.MetricsFile)
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
