package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/repo"
)

// listItem is one backup in `list --json`; the keys are a stable interface.
type listItem struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Mode       string    `json:"mode"`
	Complete   bool      `json:"complete"`
	Files      int64     `json:"files"`
	Size       int64     `json:"size"`
	AddedBytes int64     `json:"added_bytes"`
	Errors     int64     `json:"errors"`
	Path       string    `json:"path"`
}

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
			r, err := repo.Open(repoPath)
			if err != nil {
				return usageError{err}
			}
			items, err := listBackups(r, name)
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
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", it.Name, it.ID, it.Time.Local().Format(time.DateTime),
					it.Mode, state, it.Files, units.Bytes(it.Size), units.Bytes(it.AddedBytes), it.Path)
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

// listBackups returns the backups of one name, or of every name, oldest
// first.
func listBackups(r *repo.Repo, name string) ([]listItem, error) {
	names := []string{name}
	if name == "" {
		var err error
		if names, err = r.Names(); err != nil {
			return nil, err
		}
	}
	items := []listItem{}
	for _, n := range names {
		bs, err := r.Backups(n)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			it := listItem{Name: b.Name, ID: b.ID, Time: b.Time, Mode: repo.ModeFiles, Complete: b.Complete, Path: b.TreePath()}
			if b.Info != nil {
				it.Time, it.Mode = b.Info.Started, b.Info.Mode
				it.Files, it.Size, it.AddedBytes, it.Errors = b.Info.Files, b.Info.Size, b.Info.AddedBytes, b.Info.Errors
			}
			if b.Blocks() {
				it.Path = b.IndexPath() // a block backup has no tree
			}
			items = append(items, it)
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Time.Before(items[j].Time) })
	return items, nil
}
