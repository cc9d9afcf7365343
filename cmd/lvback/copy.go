package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/units"
)

func copyCmd(g *globals) *cobra.Command {
	var o engine.CopyOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "copy --from REPO --to REPO [--name NAME] [--id ID ...] [--json]",
		Short: "Copy backups to another repository incrementally, and verify what was written",
		Long: "Copy the complete backups of --from (all of them, those of --name, or only the --id ones)\n" +
			"that --to does not hold, each under its own name and ID with its source and times;\n" +
			"backups --to holds already are skipped. Either repository may be a directory or an\n" +
			"s3: URL (made by lvback init; copy never creates one).\n\n" +
			"A block-mode backup stores only the chunks --to lacks: each is read from --from,\n" +
			"checked against its id and stored as it is (ids are recomputed when either\n" +
			"repository is encrypted, since its chunk ids are keyed). A file-mode backup\n" +
			"(between directories only) is made like a backup of its tree: files unchanged since\n" +
			"--to's previous backup of the name are hard-linked to it, the rest copied.\n" +
			"A copy counts in --to only once verified: every chunk there with its size, or the\n" +
			"tree re-read against the manifest, which must list what the backup's lists.\n" +
			"It holds --to's lock, and --from's while it reads a volume's backups (so prune\n" +
			"cannot remove them). An unknown --id changes nothing. One line per backup.\n" +
			"Encrypted repositories all open with the one secret of --key-file, $LVBACK_PASSWORD\n" +
			"or $LVBACK_PASSWORD_FILE.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.From == "" || o.To == "":
				return usagef("copy needs --from and --to")
			case o.From == o.To:
				return usagef("--from and --to are both %s: copy needs two repositories", o.From)
			}
			if err := checkName(o.Name); err != nil {
				return err
			}
			o.Log = g.logger()
			var stop func()
			o.Progress, stop = g.startProgress("copy")
			defer stop()
			res, err := engine.Copy(cmd.Context(), o)
			stop()
			if res != nil {
				printCopy(g, res, o.To, asJSON)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "repository to copy from (directory or s3: URL)")
	f.StringVar(&o.To, "to", "", "repository to copy to (directory or s3: URL)")
	f.StringVar(&o.Name, "name", "", "only backups of this volume name (default: every name)")
	f.StringSliceVar(&o.IDs, "id", nil, "only this backup (repeat, or separate by commas; of --name, else of any name)")
	f.IntVar(&o.Jobs, "jobs", 0, "concurrent workers (default: 8 chunk copiers, or file workers as for backup)")
	f.BoolVar(&asJSON, "json", false, "print what was copied as JSON")
	return cmd
}

// printCopy prints one line per backup Copy went through (nothing with
// -q), or the result as JSON.
func printCopy(g *globals, res *engine.CopyResult, to string, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return
	}
	if g.quiet {
		return
	}
	for _, c := range res.Backups {
		fmt.Fprintln(g.stdout, oneLine(copyLine(c, to)))
	}
}

// copyLine describes what Copy did with one backup.
func copyLine(c engine.CopiedBackup, to string) string {
	what := c.Name + "/" + c.ID
	switch {
	case c.Skipped:
		return fmt.Sprintf("skipped %s: %s holds it already", what, to)
	case c.Mode == "blocks":
		return fmt.Sprintf("copied %s (blocks): %d chunks stored (%s), %d the target had, %s read, %.1fs",
			what, c.Stored, units.Bytes(c.Bytes), c.Reused, units.Bytes(c.Read), c.Seconds)
	}
	return fmt.Sprintf("copied %s (files): %d files copied (%s), %d linked to the previous copy, %.1fs",
		what, c.Stored, units.Bytes(c.Bytes), c.Reused, c.Seconds)
}
