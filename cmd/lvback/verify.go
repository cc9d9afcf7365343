package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
)

func verifyCmd(g *globals) *cobra.Command {
	var o engine.VerifyOptions
	var asJSON bool
	var subset string
	cmd := &cobra.Command{
		Use:   "verify --repo REPO [--name NAME] [--id ID] [--json]",
		Short: "Re-read backups and check every entry against its manifest",
		Long: "Re-read every file of the chosen complete backups (all by default), re-hash it with\n" +
			"BLAKE3 and check type, size, mode, owner, mtime and xattrs against the manifest.\n" +
			"Missing, extra and corrupted entries are listed; the exit code is 0 only when clean.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Repo == "" {
				return usagef("verify needs --repo")
			}
			if o.ID != "" && o.Name == "" {
				return usagef("--id needs --name")
			}
			if err := checkName(o.Name); err != nil {
				return err
			}
			if subset != "" {
				pct, err := strconv.ParseFloat(strings.TrimSuffix(subset, "%"), 64)
				if err != nil || pct <= 0 || pct > 100 {
					return usagef("--read-data-subset takes a percentage like 5%%")
				}
				o.ReadFraction = pct / 100
			}
			o.Log = g.logger()
			var stop func()
			o.Progress, stop = g.startProgress("verify")
			defer stop()
			rep, err := engine.Verify(cmd.Context(), o)
			stop()
			if rep == nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(rep); jerr != nil {
					return jerr
				}
				return err
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(g.stdout, oneLine(p.String()))
			}
			for _, b := range rep.Pruned {
				fmt.Fprintf(g.stdout, "%s: pruned while it was being verified; not counted\n", oneLine(b))
			}
			if !g.quiet {
				fmt.Fprintf(g.stdout, "verified %d backups, %d entries, %s read: %d problems\n",
					len(rep.Backups), rep.Entries, humanBytes(rep.Bytes), len(rep.Problems))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory")
	f.StringVar(&o.Name, "name", "", "only backups of this volume name")
	f.StringVar(&o.ID, "id", "", "only this backup (needs --name)")
	f.IntVar(&o.Jobs, "jobs", engine.DefaultJobs(), "concurrent readers")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&subset, "read-data-subset", "", "block-mode backups: re-hash only this share of the chunks (e.g. 5%); the rest are checked for presence and size")
	return cmd
}
