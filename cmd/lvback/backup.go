package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/hook"
	"github.com/lvback/lvback/internal/tags"
	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
)

func backupCmd(g *globals) *cobra.Command {
	var flags *backupFlags
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
			vo, err := flags.options()
			if err != nil {
				return err
			}
			o, source, metricsFile := &vo.Backup, flags.source, flags.metricsFile
			o.Log = g.logger()
			start := time.Now()
			var stop func()
			o.Progress, stop = g.startProgress("backup")
			defer stop()
			if vo.LV != "" || vo.Btrfs != "" {
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
						i.Name, i.ID, units.Bytes(i.Size), i.ManifestEntries, i.Copied, i.Linked, units.Bytes(i.AddedBytes))
					switch i.ReadMode {
					case repo.ReadThinDelta:
						fmt.Fprintf(g.stdout, "read %s of %s (thin_delta: %s changed since the kept snapshot)\n",
							units.Bytes(i.ReadBytes), units.Bytes(i.Size), units.Bytes(i.ChangedBytes))
					case repo.ReadFull:
						fmt.Fprintf(g.stdout, "full read: %s\n", i.FullReadReason)
					}
					if i.ReusedIndex != "" {
						fmt.Fprintf(g.stdout, "source unchanged since %s (size, mtime, ctime, inode): reused its index without reading\n", i.ReusedIndex)
					}
					if i.SourceWarning != "" {
						fmt.Fprintf(g.stdout, "warning: %s\n", i.SourceWarning)
					}
				} else {
					fmt.Fprintf(g.stdout, "backup %s/%s: %d files (%d copied, %d linked, %d reflinked), %s logical, %s written, %d errors\n%s\n",
						i.Name, i.ID, i.Files, i.Copied, i.Linked, i.Reflinked, units.Bytes(i.Size), units.Bytes(i.AddedBytes), i.Errors, res.Tree)
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
				v.LastSuccess = engine.LastSuccess(o.Repo, o.Name)
				if merr := writeMetrics(metricsFile, o.Repo, err == nil, []volumeResult{v}); merr != nil && err == nil {
					err = merr
				}
			}
			return err
		},
	}
	flags = addBackupFlags(cmd.Flags())
	return cmd
}

// backupFlags are the flags of `lvback backup`, bound by addBackupFlags.
type backupFlags struct {
	vo                        engine.VolumeOptions // the flags that are options as they are
	source, mode, metricsFile string
}

// addBackupFlags defines the flags of `lvback backup` on f.
func addBackupFlags(f *pflag.FlagSet) *backupFlags {
	b := &backupFlags{}
	vo, o := &b.vo, &b.vo.Backup
	f.StringVar(&o.Repo, "repo", "", "repository directory (made by lvback init)")
	f.StringVar(&o.Name, "name", "", "volume name the backup is filed under")
	f.StringVar(&b.source, "source", "", "directory to back up (with --mode blocks: a disk image or block device)")
	f.StringVar(&b.mode, "mode", repo.ModeFiles, "files: a browsable hard-linked tree; blocks: changed chunks of a raw image or device")
	f.StringVar(&vo.LV, "lv", "", "LVM logical volume to snapshot and back up (/dev/VG/LV)")
	f.StringVar(&vo.Snapshot.Size, "snapshot-size", "", "classic snapshot size: 2G or 20%ORIGIN (default 10%ORIGIN; ignored for thin LVs)")
	f.StringVar(&vo.Btrfs, "btrfs", "", "btrfs subvolume to snapshot read-only and back up")
	f.IntVar(&o.Jobs, "jobs", 0, fmt.Sprintf("concurrent workers: files linked or copied at once, or with --mode blocks chunks hashed and compressed at once (default %d for files, 2 per CPU for blocks)", engine.DefaultJobs()))
	f.StringVar(&b.metricsFile, "metrics-file", "", "write Prometheus text-format metrics of the run here (atomically)")
	f.BoolVar(&o.Checksum, "checksum", false, "compare file contents by hash, not only metadata")
	f.BoolVar(&vo.RequireSnapshot, "require-snapshot", false, "refuse a --source that may change while it is read: a writable device, an image that changed, a directory")
	f.BoolVar(&vo.FullRead, "full-read", false, "with --mode blocks, read everything: an image file even when its size, mtime, ctime and inode show it unchanged, a thin LV's whole snapshot instead of what thin_delta says changed")
	addExcludeFlags(f, &o.Excludes)
	f.StringArrayVar(&o.Tags, "tag", nil, "tag the backup (repeat, or separate with commas); written before it is committed")
	f.StringVar(&vo.Hooks.Before, "before-snapshot", "", "command to run right before the snapshot is created (no shell unless it needs one)")
	f.StringVar(&vo.Hooks.After, "after-snapshot", "", "command to run right after the snapshot is created, also when that failed")
	f.DurationVar(&vo.Hooks.Timeout, "hook-timeout", hook.DefaultTimeout, "kill a hook (and its process group) still running after this long")
	return b
}

// options checks the flags and returns the options engine.BackupVolume
// gets for them, in either mode; the command adds Log and Progress. A bad
// combination is a usage error.
func (b *backupFlags) options() (engine.VolumeOptions, error) {
	vo := b.vo
	o := &vo.Backup
	n := 0
	for _, s := range []string{b.source, vo.LV, vo.Btrfs} {
		if s != "" {
			n++
		}
	}
	if o.Repo == "" || o.Name == "" || n != 1 {
		return vo, usagef("backup needs --repo, --name and exactly one of --source, --lv, --btrfs")
	}
	if err := repo.ValidName(o.Name); err != nil {
		return vo, usageError{err}
	}
	if b.source != "" {
		if _, err := os.Stat(b.source); err != nil {
			return vo, usagef("source %s: %v", b.source, errors.Unwrap(err))
		}
	}
	vo.Path = b.source
	if b.source != "" && (vo.Hooks.Before != "" || vo.Hooks.After != "") {
		return vo, usagef("--before-snapshot and --after-snapshot need --lv or --btrfs: --source takes no snapshot")
	}
	if vo.Hooks.Timeout <= 0 {
		return vo, usagef("--hook-timeout must be positive")
	}
	switch b.mode {
	case repo.ModeFiles:
	case repo.ModeBlocks:
		vo.Blocks = true
	default:
		return vo, usagef("--mode must be files or blocks")
	}
	if _, err := o.Excludes.Compile(); err != nil {
		return vo, usageError{err}
	}
	if _, err := tags.Parse(o.Tags); err != nil {
		return vo, usagef("--tag: %v", err)
	}
	if vo.Blocks && !o.Excludes.Empty() {
		return vo, usagef("--exclude and its kin apply to file mode only")
	}
	if vo.FullRead && !vo.Blocks {
		return vo, usagef("--full-read applies to --mode blocks only")
	}
	return vo, nil
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
