package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/repo"
)

func backupCmd(g *globals) *cobra.Command {
	var o engine.BackupOptions
	var metricsFile string
	cmd := &cobra.Command{
		Use:   "backup --repo REPO --name NAME --source DIR",
		Short: "Make a new dated backup of a directory",
		Long: "Make a new dated backup of DIR under NAME. Unchanged files are hard-linked from\n" +
			"the newest complete backup of NAME; changed and new files are copied.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Repo == "" || o.Name == "" || o.Source == "" {
				return usagef("backup needs --repo, --name and --source")
			}
			if err := repo.ValidName(o.Name); err != nil {
				return usageError{err}
			}
			if _, err := os.Stat(o.Source); err != nil {
				return usagef("source %s: %v", o.Source, errors.Unwrap(err))
			}
			o.Log = g.logger()
			start := time.Now()
			var stop func()
			o.Progress, stop = g.startProgress("backup")
			defer stop()
			res, err := engine.Backup(cmd.Context(), o)
			stop()
			if res != nil && !g.quiet {
				i := res.Info
				fmt.Fprintf(g.stdout, "backup %s/%s: %d files (%d copied, %d linked, %d reflinked), %s logical, %s written, %d errors\n%s\n",
					i.Name, i.ID, i.Files, i.Copied, i.Linked, i.Reflinked, humanBytes(i.Size), humanBytes(i.AddedBytes), i.Errors, res.Tree)
			}
			if metricsFile != "" {
				v := volumeResult{Name: o.Name, OK: err == nil, Duration: time.Since(start)}
				if res != nil {
					v.fill(&res.Info)
				}
				if err != nil {
					v.Error = err.Error()
				}
				v.LastSuccess = lastSuccess(o.Repo, o.Name)
				if merr := writeMetrics(metricsFile, []volumeResult{v}); merr != nil && err == nil {
					err = merr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory (created if missing or empty)")
	f.StringVar(&o.Name, "name", "", "volume name the backup is filed under")
	f.StringVar(&o.Source, "source", "", "directory to back up")
	f.IntVar(&o.Jobs, "jobs", engine.DefaultJobs(), "concurrent file workers")
	f.StringVar(&metricsFile, "metrics-file", "", "write Prometheus text-format metrics of the run here (atomically)")
	f.BoolVar(&o.Checksum, "checksum", false, "compare file contents by hash, not only metadata")
	return cmd
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
