package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/hook"
	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
)

func backupCmd(g *globals) *cobra.Command {
	var vo engine.VolumeOptions
	o := &vo.Backup
	var metricsFile, source, mode string
	var hooks snapshotHooks
	cmd := &cobra.Command{
		Use:   "backup --repo REPO --name NAME (--source DIR | --lv /dev/VG/LV [--snapshot-size 2G] | --btrfs SUBVOL)",
		Short: "Make a new dated backup of a directory, an LVM volume or a btrfs subvolume",
		Long: "Make a new dated backup under NAME. Unchanged files are hard-linked from the newest\n" +
			"complete backup of NAME; changed and new files are copied. With --lv the volume is\n" +
			"snapshotted (classic, or thin for a thin LV), mounted read-only under " + lvm.DefaultRunDir + ",\n" +
			"backed up, unmounted and removed; a snapshot that overflowed makes the backup fail.\n" +
			"With --btrfs a read-only btrfs snapshot is used the same way. --before-snapshot and\n" +
			"--after-snapshot run right before and right after the snapshot is created (e.g. to\n" +
			"quiesce a guest or a database for that instant); after-snapshot runs whenever\n" +
			"before-snapshot ran, and a failing hook fails the backup.\n\n" +
			"With --mode blocks --source, an image file written while it is read, or a\n" +
			"writable block device (which lvback cannot watch), is backed up with a warning\n" +
			"(recorded in info.json, exit 0); --require-snapshot refuses the device up front\n" +
			"(exit 2) and does not keep the changed image (exit 1), and refuses a directory\n" +
			"in file mode (exit 2). Read-only devices and lvback's own snapshots pass.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, s := range []string{source, vo.LV, vo.Btrfs} {
				if s != "" {
					n++
				}
			}
			if o.Repo == "" || o.Name == "" || n != 1 {
				return usagef("backup needs --repo, --name and exactly one of --source, --lv, --btrfs")
			}
			if err := repo.ValidName(o.Name); err != nil {
				return usageError{err}
			}
			if source != "" {
				if _, err := os.Stat(source); err != nil {
					return usagef("source %s: %v", source, errors.Unwrap(err))
				}
			}
			vo.Path = source
			if source != "" && (hooks.before != "" || hooks.after != "") {
				return usagef("--before-snapshot and --after-snapshot need --lv or --btrfs: --source takes no snapshot")
			}
			if hooks.timeout <= 0 {
				return usagef("--hook-timeout must be positive")
			}
			switch mode {
			case repo.ModeFiles:
			case repo.ModeBlocks:
				vo.Blocks = true
			default:
				return usagef("--mode must be files or blocks")
			}
			if _, err := o.Excludes.Compile(); err != nil {
				return usageError{err}
			}
			if vo.Blocks && !o.Excludes.Empty() {
				return usagef("--exclude and its kin apply to file mode only")
			}
			o.Log = g.logger()
			start := time.Now()
			var stop func()
			o.Progress, stop = g.startProgress("backup")
			defer stop()
			if vo.LV != "" || vo.Btrfs != "" {
				vo.Snapshot.RunDir, vo.Snapshot.Log = lvm.DefaultRunDir, o.Log
				hooks.apply(&vo, o.Log)
				cleanLeftovers(cmd.Context(), vo.Btrfs, o.Log)
			}
			res, err := engine.BackupVolume(cmd.Context(), vo)
			stop()
			committed := err == nil || errors.Is(err, engine.ErrEntriesSkipped)
			if res != nil && committed && g.quiet && res.Info.SourceWarning != "" {
				g.printError("warning: " + res.Info.SourceWarning) // -q hides the engine's log warning
			}
			if res != nil && committed && !g.quiet {
				i := res.Info
				if vo.Blocks {
					fmt.Fprintf(g.stdout, "backup %s/%s: %s image, %d chunks (%d new, %d reused), %s written\n",
						i.Name, i.ID, humanBytes(i.Size), i.ManifestEntries, i.Copied, i.Linked, humanBytes(i.AddedBytes))
					if i.SourceWarning != "" {
						fmt.Fprintf(g.stdout, "warning: %s\n", i.SourceWarning)
					}
				} else {
					fmt.Fprintf(g.stdout, "backup %s/%s: %d files (%d copied, %d linked, %d reflinked), %s logical, %s written, %d errors\n%s\n",
						i.Name, i.ID, i.Files, i.Copied, i.Linked, i.Reflinked, humanBytes(i.Size), humanBytes(i.AddedBytes), i.Errors, res.Tree)
					if i.DamagedCopied > 0 {
						fmt.Fprintf(g.stdout, "%d files copied instead of linked: recorded damaged by verify\n", i.DamagedCopied)
					}
				}
			}
			if metricsFile != "" {
				v := volumeResult{Name: o.Name, Source: source + vo.LV + vo.Btrfs, OK: err == nil, Duration: time.Since(start)}
				if res != nil {
					v.fill(&res.Info)
				}
				if err != nil {
					v.Error = err.Error()
				}
				v.LastSuccess = lastSuccess(o.Repo, o.Name)
				if merr := writeMetrics(metricsFile, err == nil, []volumeResult{v}); merr != nil && err == nil {
					err = merr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory (made by lvback init)")
	f.StringVar(&o.Name, "name", "", "volume name the backup is filed under")
	f.StringVar(&source, "source", "", "directory to back up (with --mode blocks: a disk image or block device)")
	f.StringVar(&mode, "mode", repo.ModeFiles, "files: a browsable hard-linked tree; blocks: changed chunks of a raw image or device")
	f.StringVar(&vo.LV, "lv", "", "LVM logical volume to snapshot and back up (/dev/VG/LV)")
	f.StringVar(&vo.Snapshot.Size, "snapshot-size", "", "classic snapshot size: 2G or 20%ORIGIN (default 10%ORIGIN; ignored for thin LVs)")
	f.StringVar(&vo.Btrfs, "btrfs", "", "btrfs subvolume to snapshot read-only and back up")
	f.IntVar(&o.Jobs, "jobs", engine.DefaultJobs(), "concurrent file workers")
	f.StringVar(&metricsFile, "metrics-file", "", "write Prometheus text-format metrics of the run here (atomically)")
	f.BoolVar(&o.Checksum, "checksum", false, "compare file contents by hash, not only metadata")
	f.BoolVar(&vo.RequireSnapshot, "require-snapshot", false, "refuse a --source that may change while it is read: a writable device, an image that changed, a directory")
	addExcludeFlags(f, &o.Excludes)
	f.StringVar(&hooks.before, "before-snapshot", "", "command to run right before the snapshot is created (no shell unless it needs one)")
	f.StringVar(&hooks.after, "after-snapshot", "", "command to run right after the snapshot is created, also when that failed")
	f.DurationVar(&hooks.timeout, "hook-timeout", hook.DefaultTimeout, "kill a hook (and its process group) still running after this long")
	return cmd
}

// cleanLeftovers removes snapshots and mounts a killed run left behind
// before a new snapshot is made (only lvback's own, recognised by tag,
// name and mount directory).
func cleanLeftovers(ctx context.Context, btrfs string, log *slog.Logger) {
	var subvols []string
	if btrfs != "" {
		subvols = []string{btrfs}
	}
	removed, err := lvm.Cleanup(ctx, lvm.DefaultRunDir, subvols, log)
	for _, r := range removed {
		log.Warn("removed a leftover of an interrupted run", "what", r)
	}
	if err != nil {
		log.Error("cleanup of leftovers failed", "err", err)
	}
}

// humanBytes formats a byte count with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
