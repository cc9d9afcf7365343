package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/tags"
	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/repo"
)

// listItem is one backup in `list --json` (engine.List).
type listItem = engine.ListItem

func listCmd(g *globals) *cobra.Command {
	var repoPath, name string
	var tagLists []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list --repo REPO [--name NAME] [--tag T[,T...]]... [--json]",
		Short: "List backups, oldest first",
		Long: "List the backups of a repository, oldest first, with their tags and whether\n" +
			"they are protected (see tag and protect). --tag a,b lists the complete backups\n" +
			"that have both a and b; --tag a --tag b those that have either (restic's rules).\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if repoPath == "" {
				return usagef("list needs --repo")
			}
			if err := checkName(name); err != nil {
				return err
			}
			if _, err := tags.ParseLists(tagLists); err != nil {
				return usagef("--tag: %v", err)
			}
			items, err := engine.List(repoPath, name, tagLists)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tTIME\tMODE\tSTATE\tFILES\tSIZE\tADDED\tPROTECTED\tTAGS\tPATH")
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
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", it.Name, it.ID, it.Time.Local().Format(time.DateTime),
					mode, state, it.Files, units.Bytes(it.Size), units.Bytes(it.AddedBytes), protectedMark(it.Protected), tagsColumn(it.Tags), it.Path)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&repoPath, "repo", "", "repository directory")
	f.StringVar(&name, "name", "", "only this volume name")
	f.StringArrayVar(&tagLists, "tag", nil, "only backups with all of these tags (comma-separated); repeat for either of several lists")
	f.BoolVar(&asJSON, "json", false, "print a JSON array (with \"tags\" and \"protected\")")
	return cmd
}

// protectedMark is list's PROTECTED column.
func protectedMark(p bool) string {
	if p {
		return "yes"
	}
	return "-"
}

// tagsColumn is list's TAGS column: the tags separated by commas, "-"
// for none.
func tagsColumn(ts []string) string {
	if len(ts) == 0 {
		return "-"
	}
	return strings.Join(ts, ",")
}
