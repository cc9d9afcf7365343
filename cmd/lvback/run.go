package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/config"
	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
)

// runSummary is what `run` prints with --json and pipes to on_success and
// on_failure.
type runSummary struct {
	Config      string         `json:"config"`
	Repo        string         `json:"repo"`
	Started     time.Time      `json:"started"`
	Finished    time.Time      `json:"finished"`
	OK          bool           `json:"ok"`
	Error       string         `json:"error,omitempty"` // why no volume was tried: the config, the lock
	Interrupted bool           `json:"interrupted,omitempty"`
	Cleaned     []string       `json:"cleaned_up,omitempty"`
	Volumes     []volumeResult `json:"volumes"`
	Prune       []string       `json:"pruned,omitempty"`
}

func runCmd(g *globals) *cobra.Command {
	var cfgPath, metricsFile string
	var asJSON, dryRun bool
	cmd := &cobra.Command{
		Use:   "run --config FILE [--json] [--dry-run]",
		Short: "Back up every volume of a config file (for cron), then apply retention",
		Long: "Back up the volumes of FILE one after another: snapshot, mount read-only, copy,\n" +
			"unmount, remove. One failing volume does not stop the others. Retention runs after\n" +
			"the backups, only for volumes whose backup succeeded. With copy_to, each volume's\n" +
			"new backup is then copied there (as lvback copy does); a failed copy fails the run.\n" +
			"before_snapshot and after_snapshot run right around each snapshot's creation;\n" +
			"on_success or on_failure runs once at the end, with the JSON summary on stdin\n" +
			"(on_failure also when the repository is locked or the config is invalid but its\n" +
			"on_failure is readable).\n\n" +
			"--dry-run checks the config, the repository and each source and prints in words\n" +
			"what a run would do, touching nothing; with --json as one object: config,\n" +
			"repository {location, remote, layout, problem}, volumes [{name, source, kind,\n" +
			"mode, repository, layout, snapshot, hooks {before_snapshot, after_snapshot,\n" +
			"timeout_seconds, words}, excludes {patterns, caches, if_present, words},\n" +
			"retention {keep_last ... keep_within, keep_tags, words} or null, tags, copy_to,\n" +
			"problems}], copy_to, on_success, on_failure, metrics_file, problems. Exit codes\n" +
			"as without --json.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return usagef("run needs --config")
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				if !dryRun {
					reportBadConfig(cmd.Context(), g, cfgPath, metricsFile, err)
				}
				return usageError{err}
			}
			if err := applyRemoteSettings(cfg); err != nil {
				return err
			}
			if dryRun {
				if metricsFile == "" {
					metricsFile = cfg.MetricsFile
				}
				return printPlan(cmd.Context(), g, cfg, metricsFile, asJSON)
			}
			if metricsFile == "" {
				metricsFile = cfg.MetricsFile
			}
			return runConfig(cmd.Context(), g, cfg, asJSON, metricsFile)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "/etc/lvback/lvback.toml", "configuration file")
	f.BoolVar(&asJSON, "json", false, "print the run's summary (with --dry-run: the plan) as JSON")
	f.BoolVar(&dryRun, "dry-run", false, "check the config, the repository and each volume's source, and print in words what a run would do; touch nothing")
	f.StringVar(&metricsFile, "metrics-file", "", "write Prometheus metrics here (default: the config's metrics_file)")
	return cmd
}

// runConfig backs up every volume under one repository lock, then reports
// the run: summary, metrics, on_success or on_failure.
func runConfig(ctx context.Context, g *globals, cfg *config.Config, asJSON bool, metricsFile string) error {
	log := g.logger()
	sum := &runSummary{Config: cfg.Path(), Repo: cfg.Repo, Started: time.Now().UTC(), Volumes: []volumeResult{}}
	err := backupAll(ctx, g, cfg, sum)
	sum.Finished = time.Now().UTC()
	sum.Interrupted = sum.Interrupted || ctx.Err() != nil
	sum.OK = err == nil && !sum.Interrupted
	for _, v := range sum.Volumes {
		sum.OK = sum.OK && v.OK
	}
	if err == nil && !sum.OK && !sum.Interrupted && sum.allFailedLocked() {
		err = fmt.Errorf("%w: every volume that failed was being backed up or pruned by another run", repo.ErrLocked)
	}
	if err != nil {
		sum.Error = oneLine(err.Error())
	}
	switch {
	case asJSON:
		printSummary(g, sum, true)
	case err == nil && (!g.quiet || !sum.OK || noteworthy(sum)): // -q on a clean run: nothing for cron to mail
		printSummary(g, sum, false)
	}
	if metricsFile != "" {
		if merr := writeMetrics(metricsFile, cfg.Repo, sum.OK, sum.Volumes); merr != nil {
			log.Error("metrics not written", "err", merr)
		}
	}
	command := cfg.OnFailure
	if sum.OK {
		command = cfg.OnSuccess
	}
	runEndHook(ctx, sum, command, cfg.RunHookTimeout(), log)
	switch {
	case err != nil:
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	case !sum.OK:
		return errors.New("some volumes failed (see the summary)")
	}
	return nil
}

// applyRemoteSettings makes the config's credentials_file and key_file
// what opens its s3: repository, as $AWS_SHARED_CREDENTIALS_FILE and
// --key-file would (an explicit --key-file wins).
func applyRemoteSettings(cfg *config.Config) error {
	if cfg.CredentialsFile != "" {
		if err := os.Setenv(repo.CredentialsFileEnv, cfg.CredentialsFile); err != nil {
			return err
		}
	}
	if cfg.KeyFile != "" && os.Getenv(repo.KeyFileEnv) == "" {
		return os.Setenv(repo.KeyFileEnv, cfg.KeyFile)
	}
	return nil
}

// backupAll removes what killed runs left, backs up every volume, then
// applies retention, filling sum. Its error is one that stopped the run
// before any volume (the repository). The repository is not locked as a
// whole: other runs and hosts back up their volumes at the same time, so
// each backup takes its volume's lock and prune takes its own.
func backupAll(ctx context.Context, g *globals, cfg *config.Config, sum *runSummary) error {
	log := g.logger()
	r, err := repo.Open(cfg.Repo)
	if err != nil {
		return err
	}
	const held = false
	sum.Cleaned, err = lvm.Cleanup(ctx, lvm.DefaultRunDir, btrfsSubvols(cfg), log)
	if err != nil {
		log.Error("cleanup of leftovers failed", "err", err)
	}
	for i := range cfg.Volumes {
		if ctx.Err() != nil {
			sum.Interrupted = true
			break
		}
		sum.Volumes = append(sum.Volumes, backupOne(ctx, g, cfg, &cfg.Volumes[i], held))
	}
	sum.Prune = applyRetention(ctx, cfg, sum, held, log)
	if cfg.CopyTo != "" {
		copyAll(ctx, g, cfg, sum, held)
	}
	if ctx.Err() == nil {
		sum.Cleaned = append(sum.Cleaned, dropLeftKept(ctx, r, cfg, log)...)
	}
	return nil
}

// dropLeftKept removes the kept thin snapshots of LVs this repository
// backed up in block mode that are no longer block-mode volumes of the
// config: nothing will compare them again, and they cost pool space.
// Kept snapshots of volumes other repositories back up are left alone.
func dropLeftKept(ctx context.Context, r *repo.Repo, cfg *config.Config, log *slog.Logger) []string {
	inConfig := map[[2]string]bool{}
	for _, v := range cfg.Volumes {
		if vg, lv, ok := lvm.SplitLV(v.LV); ok && v.Mode == repo.ModeBlocks {
			inConfig[[2]string{vg, lv}] = true
		}
	}
	names, err := r.Names()
	if err != nil {
		return nil
	}
	left := map[[2]string]bool{}
	for _, n := range names {
		b, err := r.Latest(n)
		if err != nil || b == nil || b.Info == nil || b.Info.Thin == nil {
			continue
		}
		if k := [2]string{b.Info.Thin.VG, b.Info.Thin.Origin}; !inConfig[k] {
			left[k] = true
		}
	}
	if len(left) == 0 {
		return nil
	}
	removed, err := lvm.CleanupKept(ctx, log, func(k lvm.KeptSnapshot) bool { return left[[2]string{k.VG, k.Origin}] })
	if err != nil {
		log.Warn("kept snapshot of a volume no longer in the config not removed", "err", err)
	}
	return removed
}

// reportBadConfig reports a config that Load refused the way the config
// asked, as far as it can be read (config.FailureFallback): on_failure with
// the summary on stdin, and the metrics file (lvback_run_success 0).
func reportBadConfig(ctx context.Context, g *globals, path, metricsFile string, cfgErr error) {
	fb := config.FailureFallback(path)
	if metricsFile == "" {
		metricsFile = fb.MetricsFile
	}
	now := time.Now().UTC()
	sum := &runSummary{Config: path, Repo: fb.Repo, Started: now, Finished: now, Volumes: []volumeResult{},
		Error: "config: " + oneLine(cfgErr.Error())}
	log := g.logger()
	if metricsFile != "" {
		if err := writeMetrics(metricsFile, fb.Repo, false, nil); err != nil {
			log.Error("metrics not written", "err", err)
		}
	}
	runEndHook(ctx, sum, fb.OnFailure, fb.HookTimeout, log)
}

// backupOne backs up one configured volume and describes the outcome;
// held says the caller holds the repository lock.
func backupOne(ctx context.Context, g *globals, cfg *config.Config, v *config.Volume, held bool) volumeResult {
	start := time.Now()
	log := g.logger().With("volume", v.Name)
	o := cfg.VolumeOptions(v)
	o.Backup.Locked, o.Backup.Log = held, log
	var stop func()
	o.Backup.Progress, stop = g.startProgress(v.Name)
	res, err := engine.BackupVolume(ctx, o)
	stop()
	out := volumeResult{Name: v.Name, Source: v.Source(), OK: err == nil, Duration: time.Since(start)}
	out.Seconds = out.Duration.Seconds()
	if res != nil {
		out.fill(&res.Info)
	}
	if err != nil {
		out.Error, out.locked = oneLine(err.Error()), errors.Is(err, repo.ErrLocked)
		g.printError(out.Error) // the error names the volume
	}
	out.LastSuccess = engine.LastSuccess(cfg.Repo, v.Name)
	return out
}

// applyRetention prunes the volumes whose backup succeeded in this run and
// that have a policy; it never runs before the backups. held says the
// caller holds the repository lock.
func applyRetention(ctx context.Context, cfg *config.Config, sum *runSummary, held bool, log interface {
	Error(string, ...any)
}) []string {
	var removed []string
	for i, v := range sum.Volumes {
		p, ok := cfg.Policy(&cfg.Volumes[i])
		if !ok || !v.OK || ctx.Err() != nil {
			continue
		}
		o := engine.PruneOptions{Repo: cfg.Repo, Name: v.Name, Policy: p, Locked: held}
		if v.ID != "" {
			o.Pinned = []string{v.ID} // never prune what this run has just made
		}
		res, err := engine.Prune(ctx, o)
		if err != nil {
			log.Error("retention failed", "volume", v.Name, "err", err)
			sum.Volumes[i].OK, sum.Volumes[i].Error = false, "retention: "+oneLine(err.Error())
			continue
		}
		for _, d := range res.Decisions {
			if d.Removed {
				removed = append(removed, d.Name+"/"+d.ID)
			}
		}
	}
	return removed
}

// copyAll copies each volume's backup made in this run to the config's
// copy_to (engine.Copy), recording the outcome in the volume's result: a
// failed copy fails the volume. held says the caller holds the
// repository lock.
func copyAll(ctx context.Context, g *globals, cfg *config.Config, sum *runSummary, held bool) {
	for i := range sum.Volumes {
		v := &sum.Volumes[i]
		if v.ID == "" || ctx.Err() != nil {
			continue // no backup made: nothing to copy
		}
		log := g.logger().With("volume", v.Name)
		start := time.Now()
		res, err := engine.Copy(ctx, engine.CopyOptions{From: cfg.Repo, To: cfg.CopyTo, Name: v.Name, IDs: []string{v.ID},
			FromLocked: held, Log: log})
		v.Copy = &copyOutcome{To: cfg.CopyTo, OK: err == nil, Seconds: time.Since(start).Seconds()}
		if res != nil && len(res.Backups) == 1 {
			c := res.Backups[0]
			v.Copy.Skipped, v.Copy.Stored, v.Copy.Written = c.Skipped, c.Stored, c.Bytes
		}
		if err != nil {
			msg := "copy to " + cfg.CopyTo + ": " + oneLine(err.Error())
			v.Copy.Error = msg
			if v.OK {
				v.OK, v.Error = false, msg
			}
			g.printError(v.Name + ": " + msg)
		}
	}
}

func btrfsSubvols(cfg *config.Config) []string {
	var out []string
	for _, v := range cfg.Volumes {
		if v.Btrfs != "" {
			out = append(out, v.Btrfs)
		}
	}
	return out
}

// noteworthy reports whether a volume of the run skipped entries or
// warned that its image may be inconsistent.
func noteworthy(sum *runSummary) bool {
	for _, v := range sum.Volumes {
		if v.Skipped > 0 || v.Warning != "" {
			return true
		}
	}
	return false
}

func printSummary(g *globals, sum *runSummary, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum)
		return
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VOLUME\tSTATUS\tFILES\tCOPIED\tLINKED\tWRITTEN\tTIME")
	for _, v := range sum.Volumes {
		status := "ok"
		if !v.OK {
			status = "FAILED: " + v.Error
		} else if v.Skipped > 0 {
			status = fmt.Sprintf("ok, %d skipped", v.Skipped)
		} else if v.Warning != "" {
			status = "ok, warning"
		} else if v.ReusedIndex != "" {
			status = "ok, unchanged"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%.1fs\n", v.Name, status, v.Files, v.Copied, v.Linked, units.Bytes(v.Written), v.Seconds)
	}
	_ = tw.Flush()
	for _, v := range sum.Volumes {
		if v.OK && v.Warning != "" {
			fmt.Fprintf(g.stdout, "warning %s: %s\n", v.Name, v.Warning)
		}
	}
	for _, p := range sum.Prune {
		fmt.Fprintf(g.stdout, "pruned %s\n", p)
	}
	for _, v := range sum.Volumes {
		if c := v.Copy; c != nil && c.OK {
			fmt.Fprintf(g.stdout, "copied %s/%s to %s: %d stored (%s), %.1fs\n", v.Name, v.ID, c.To, c.Stored, units.Bytes(c.Written), c.Seconds)
		}
	}
}

// allFailedLocked reports whether every volume that failed did so
// because another run held its lock (the run then exits 3, as a locked
// backup does).
func (s *runSummary) allFailedLocked() bool {
	n := 0
	for _, v := range s.Volumes {
		if !v.OK {
			if !v.locked {
				return false
			}
			n++
		}
	}
	return n > 0
}
