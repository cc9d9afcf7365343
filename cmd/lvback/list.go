package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/repo"
)

// listItem is one backup in `list --json` (engine.List).
type listItem = engine.ListItem

func listCmd(g *globals) *cobra.Command {
	var repoPath, name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list --repo REPO [--name NAME] [--json]",
		Short: "List backups, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if repoPath == "" {
				return usagef("list needs --repo")
			}
			if err := checkName(name); err != nil {
				return err
			}
			items, err := engine.List(repoPath, name)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tTIME\tMODE\tSTATE\tFILES\tSIZE\tADDED\tPATH")
			for _, it := range items {
				state := "complete"
				if !it.Complete {
					state = "incomplete"
				} else if it.Errors > 0 {
					state = fmt.Sprintf("complete, %d skipped", it.Errors)
				}
				mode := it.Mode
				if it.ReadMode == repo.ReadThinDelta {
					mode += fmt.Sprintf(" (thin_delta: read %s, kept snapshot held %s)", units.Bytes(it.ReadBytes), units.Bytes(it.KeptSnapshotBytes))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", it.Name, it.ID, it.Time.Local().Format(time.DateTime),
					mode, state, it.Files, units.Bytes(it.Size), units.Bytes(it.AddedBytes), it.Path)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&repoPath, "repo", "", "repository directory")
	f.StringVar(&name, "name", "", "only this volume name")
	f.BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}
