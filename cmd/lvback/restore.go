package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/units"
)

func restoreCmd(g *globals) *cobra.Command {
	var o engine.RestoreOptions
	cmd := &cobra.Command{
		Use:   "restore --repo REPO --name NAME --id ID --target DIR [--path SUBPATH] [--force]",
		Short: "Write a backup (or part of it) back to a directory",
		Long: "Write backup ID of NAME (\"latest\" for the newest) into DIR with all metadata.\n" +
			"DIR must be empty unless --force. Contents are checked against the manifest's\n" +
			"BLAKE3 hashes while they are copied. Until every entry is written and synced,\n" +
			"DIR holds " + engine.RestoreMarker + ": a restore that failed or was killed\n" +
			"leaves it there, and restoring into DIR again then needs --force.\n\n" +
			"DIR's own mode, owner and times: restoring the whole backup (no --path) into a\n" +
			"DIR that restore creates (or an interrupted restore did), or that is empty (no\n" +
			"--force), makes DIR the backup's root: it takes\n" +
			"the root's mode, owner, times and xattrs, as rsync -a SRC/ DST/ does. A DIR\n" +
			"restored into with --force keeps its own (restoring into /srv or /tmp never\n" +
			"changes them) unless --root-metadata asks for the root's on purpose. With --path,\n" +
			"DIR is only where the part goes and keeps its own (a new DIR is made mode 0700),\n" +
			"as tar -x -C does. --target - is refused: to write a backup to stdout use lvback dump.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Repo == "" || o.Name == "" || o.Target == "" {
				return usagef("restore needs --repo, --name and --target")
			}
			if err := checkName(o.Name); err != nil {
				return err
			}
			if o.Target == "-" {
				return usagef("restore writes into a directory (or an image file), not to stdout: use lvback dump to write a backup or a file of it to stdout")
			}
			o.Log = g.logger()
			var stop func()
			o.Progress, stop = g.startProgress("restore")
			defer stop()
			res, err := engine.Restore(cmd.Context(), o)
			stop()
			if err == nil && !g.quiet { // a failed restore reports on stderr only
				fmt.Fprintf(g.stdout, "restored %s: %d entries, %s written, %d errors\n",
					res.Backup, res.Entries, units.Bytes(res.Bytes), res.Errors)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory")
	f.StringVar(&o.Name, "name", "", "volume name")
	f.StringVar(&o.ID, "id", "latest", "backup id, or latest")
	f.StringVar(&o.Target, "target", "", "directory to restore into")
	f.StringVar(&o.Path, "path", "", "restore only this path inside the backup")
	f.BoolVar(&o.Force, "force", false, "restore into a non-empty directory, replacing entries in the way")
	f.BoolVar(&o.RootMetadata, "root-metadata", false, "with --force and the whole backup: give DIR the backup root's mode, owner, times and xattrs instead of keeping its own")
	f.IntVar(&o.Jobs, "jobs", engine.DefaultJobs(), "concurrent file writers")
	return cmd
}
