package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/tags"
	"github.com/lvback/lvback/retention"
)

func pruneCmd(g *globals) *cobra.Command {
	var o engine.PruneOptions
	var within string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "prune --repo REPO [--name NAME] --keep-last N|--keep-daily N|...|--keep-tag T [--dry-run] [--json]",
		Short: "Delete old backups by keep rules; never the newest, never anything incomplete or foreign",
		Long: "Apply keep rules per volume name, like restic's --keep-*: a backup is kept when any\n" +
			"rule keeps it, buckets use the backup's time in local time. Only complete backups\n" +
			"lvback made are counted or deleted; the newest complete backup of every name (and\n" +
			"the newest one without skipped entries) is always kept, and so is every protected\n" +
			"backup (see protect), with the reason \"protected\". --keep-tag a,b keeps every\n" +
			"backup that has both tags, --keep-tag a --keep-tag b every one with either, as\n" +
			"restic's forget does. --dry-run prints the same list and touches nothing.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Repo == "" {
				return usagef("prune needs --repo")
			}
			if err := checkName(o.Name); err != nil {
				return err
			}
			if within != "" {
				d, err := retention.ParseDuration(within)
				if err != nil {
					return usageError{fmt.Errorf("--keep-within: %w", err)}
				}
				o.Policy.Within = d
			}
			lists, err := tags.ParseLists(o.Policy.Tags)
			if err != nil {
				return usagef("--keep-tag: %v", err)
			}
			o.Policy.Tags = lists
			if err := o.Policy.Validate(); err != nil {
				return usageError{err}
			}
			o.Log = g.logger()
			var stop func()
			o.Progress, stop = g.startProgress("prune")
			defer stop()
			res, err := engine.Prune(cmd.Context(), o)
			stop()
			if res != nil {
				printPrune(g, res, asJSON)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory")
	f.StringVar(&o.Name, "name", "", "only this volume name (default: every name)")
	f.IntVar(&o.Policy.Last, "keep-last", 0, "keep the N newest backups")
	f.IntVar(&o.Policy.Hourly, "keep-hourly", 0, "keep the newest backup of each of the last N hours that have one")
	f.IntVar(&o.Policy.Daily, "keep-daily", 0, "keep the newest backup of each of the last N days that have one")
	f.IntVar(&o.Policy.Weekly, "keep-weekly", 0, "keep the newest backup of each of the last N ISO weeks that have one")
	f.IntVar(&o.Policy.Monthly, "keep-monthly", 0, "keep the newest backup of each of the last N months that have one")
	f.IntVar(&o.Policy.Yearly, "keep-yearly", 0, "keep the newest backup of each of the last N years that have one")
	f.StringVar(&within, "keep-within", "", "keep every backup within this duration of the newest (e.g. 14d, 1y6m)")
	f.StringArrayVar(&o.Policy.Tags, "keep-tag", nil, "keep every backup with all of these tags (comma-separated); repeat for either of several lists")
	f.BoolVar(&o.DryRun, "dry-run", false, "print what would be deleted and kept, and why; delete nothing")
	f.BoolVar(&asJSON, "json", false, "print the decisions as JSON")
	f.IntVar(&o.Jobs, "jobs", engine.DefaultJobs(), "concurrent deleters")
	return cmd
}

func printPrune(g *globals, res *engine.PruneResult, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return
	}
	for _, dir := range res.Finished {
		fmt.Fprintf(g.stdout, "finished interrupted deletion of %s\n", dir)
	}
	for _, d := range res.Decisions {
		verb := "keep  "
		switch {
		case !d.Keep && res.DryRun:
			verb = "would remove"
		case !d.Keep && d.Removed:
			verb = "removed"
		case !d.Keep:
			verb = "remove"
		}
		why := ""
		if len(d.Reasons) > 0 {
			why = " (" + strings.Join(d.Reasons, ", ") + ")"
		}
		fmt.Fprintf(g.stdout, "%-12s %s/%s  %s%s\n", verb, d.Name, d.ID, d.Time.Local().Format(time.DateTime), why)
	}
}
