package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/units"
)

func verifyCmd(g *globals) *cobra.Command {
	var o engine.VerifyOptions
	var asJSON bool
	var subset string
	cmd := &cobra.Command{
		Use:   "verify --repo REPO [--name NAME] [--id ID] [--json] [--repair [--source DIR]]",
		Short: "Re-read backups and check every entry against its manifest",
		Long: "Re-read every file of the chosen complete backups (all by default), re-hash it with\n" +
			"BLAKE3 and check type, size, mode, owner, mtime and xattrs against the manifest.\n" +
			"Missing, extra and corrupted entries are listed; the exit code is 0 only when clean.\n" +
			"Corrupted files are recorded in REPO/damaged.json: the next backup copies them from\n" +
			"the source instead of linking them. --repair (which takes the repository lock) replaces\n" +
			"each one, in every backup sharing it, with an intact copy from another backup or from\n" +
			"--source DIR (same relative path), checked against the manifest's hash; with --repair\n" +
			"the exit code is 0 only when everything found was healed.\n\n" + exitHelp,
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
			if o.Source != "" {
				if !o.Repair {
					return usagef("--source needs --repair")
				}
				if fi, err := os.Stat(o.Source); err != nil || !fi.IsDir() {
					return usagef("--source %s is not a directory", o.Source)
				}
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
					len(rep.Backups), rep.Entries, units.Bytes(rep.Bytes), len(rep.Problems))
			}
			printRepair(g, rep)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory")
	f.StringVar(&o.Name, "name", "", "only backups of this volume name")
	f.StringVar(&o.ID, "id", "", "only this backup (needs --name)")
	f.IntVar(&o.Jobs, "jobs", engine.DefaultJobs(), "concurrent readers")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&o.Repair, "repair", false, "replace damaged files with intact copies (takes the repository lock)")
	f.StringVar(&o.Source, "source", "", "with --repair: a directory to take intact copies from (same relative path)")
	f.StringVar(&subset, "read-data-subset", "", "block-mode backups: re-hash only this share of the chunks (e.g. 5%); the rest are checked for presence and size")
	return cmd
}

// printRepair prints what verify recorded and what --repair healed.
func printRepair(g *globals, rep *engine.VerifyReport) {
	if rep.Damaged > 0 && rep.Repair == nil {
		fmt.Fprintf(g.stdout, "recorded %d damaged files: the next backup copies them instead of linking; verify --repair replaces them\n", rep.Damaged)
	}
	if rep.Repair == nil {
		return
	}
	for _, h := range rep.Repair.Healed {
		fmt.Fprintf(g.stdout, "healed %s from %s\n", oneLine(refList(h.Files)), oneLine(h.From))
		if h.Note != "" {
			fmt.Fprintf(g.stdout, "  note: %s\n", oneLine(h.Note))
		}
	}
	for _, h := range rep.Repair.Unhealed {
		fmt.Fprintf(g.stdout, "could not heal %s: %s\n", oneLine(refList(h.Files)), oneLine(h.Reason))
	}
	if !g.quiet {
		fmt.Fprintf(g.stdout, "repair: %d damaged files healed, %d not healed, %d other problems not repairable\n",
			len(rep.Repair.Healed), len(rep.Repair.Unhealed), rep.Repair.Other)
	}
}

func refList(fs []engine.FileRef) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, ", ")
}
