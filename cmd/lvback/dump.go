package main

import (
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lvback/lvback/engine"
)

func dumpCmd(g *globals) *cobra.Command {
	var o engine.DumpOptions
	cmd := &cobra.Command{
		Use:   "dump --repo REPO --name NAME [--id ID] [PATH]",
		Short: "Write a file, a directory (as tar) or an image from a backup to stdout",
		Long: "Write PATH of backup ID of NAME (\"latest\" for the newest) to stdout: a file's\n" +
			"content, or a directory (no PATH: the whole backup) as a PAX tar stream with\n" +
			"numeric owners, modes, mtimes, xattrs and ACLs (SCHILY.xattr.*), hard links,\n" +
			"symlinks, fifos and devices (sockets are left out); extract it with\n" +
			"  tar -xpf - --xattrs --xattrs-include='*' --numeric-owner\n" +
			"A block-mode backup writes its image, with no PATH or /NAME.img (as ls lists it):\n" +
			"  lvback dump --repo R --name vm | ssh host dd of=/dev/vg/lv bs=4M\n" +
			"Contents are checked against the manifest's BLAKE3 hashes (an image's chunks\n" +
			"against their ids) as they are written. A file that does not match is written\n" +
			"anyway, and dump then exits 1 naming it: its bytes went to stdout already.\n" +
			"A single file missing from the backup's tree writes nothing (exit 1); in a tar\n" +
			"stream it is zeros, and dump exits 1 after it. A PATH ending in / must be a\n" +
			"directory. The tar stream has no sparse headers: holes come out as zeros\n" +
			"(restore keeps them holes).\n" +
			"A tar stream or an image is never written to a terminal (exit 2).\n\n" + exitHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Repo == "" || o.Name == "" {
				return usagef("dump needs --repo and --name")
			}
			if err := checkName(o.Name); err != nil {
				return err
			}
			if len(args) == 1 {
				o.Path = args[0]
			}
			o.RefuseArchive = isTerminal(g.stdout)
			return browseErr(engine.Dump(cmd.Context(), o, g.stdout))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory")
	f.StringVar(&o.Name, "name", "", "volume name")
	f.StringVar(&o.ID, "id", "latest", "backup id, or latest")
	f.IntVar(&o.Jobs, "jobs", 0, "block mode: concurrent chunk readers (0: default)")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
