package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/manifest"
)

func lsCmd(g *globals) *cobra.Command {
	var o engine.LsOptions
	var long, asJSON bool
	cmd := &cobra.Command{
		Use:   "ls --repo REPO --name NAME [--id ID] [PATH] [-l] [--recursive] [--json]",
		Short: "List the entries of a backup from its manifest",
		Long: "List what backup ID of NAME (\"latest\" for the newest) holds, from its manifest\n" +
			"(the source's metadata at backup time; the tree is not read). PATH (default /)\n" +
			"lists a directory's children, or a file itself; --recursive everything below.\n" +
			"A PATH ending in / must be a directory (a symlink is not followed: exit 2).\n" +
			"A block-mode backup lists its image, /NAME.img. -l prints modes as GNU ls -l\n" +
			"(lrwxrwxrwx, crw-r--r--, -rwsr-xr-x), a device's 'major, minor' for its size\n" +
			"and a symlink's -> TARGET. Names are escaped, one line each: \\\\ \\n \\t \\r, and\n" +
			"\\xHH for other control bytes and bytes that are not UTF-8. --json prints one\n" +
			"JSON object per line (NDJSON): path, type, mode, uid, gid, size, mtime, hash\n" +
			"(files), target (symlinks), link_to (hard links), rdev {major, minor}\n" +
			"(devices), image_hash (images); path_raw, target_raw, link_to_raw (base64 of\n" +
			"the raw bytes) only when that name is not valid UTF-8.\n\n" + exitHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Repo == "" || o.Name == "" {
				return usagef("ls needs --repo and --name")
			}
			if err := checkName(o.Name); err != nil {
				return err
			}
			if len(args) == 1 {
				o.Path = args[0]
			}
			emit := func(e engine.BrowseEntry) error { _, err := fmt.Fprintln(g.stdout, oneLine(e.Path)); return err }
			if long {
				emit = func(e engine.BrowseEntry) error { _, err := fmt.Fprintln(g.stdout, longLine(e)); return err }
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				emit = func(e engine.BrowseEntry) error { return enc.Encode(e) }
			}
			return browseErr(engine.Ls(cmd.Context(), o, emit))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory")
	f.StringVar(&o.Name, "name", "", "volume name")
	f.StringVar(&o.ID, "id", "latest", "backup id, or latest")
	f.BoolVarP(&long, "long", "l", false, "show mode, owner, size and mtime")
	f.BoolVarP(&o.Recursive, "recursive", "R", false, "list everything below PATH")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}

// longLine is an `ls -l` line of e: its columns, path and (symlinks)
// target.
func longLine(e engine.BrowseEntry) string {
	return longColumns(e) + " " + oneLine(e.Path) + arrowTarget(e)
}

// longColumns are the columns ls -l and find print before a path or
// hash: mode as GNU ls prints it, uid, gid, size (a device's "major,
// minor", as ls) and mtime.
func longColumns(e engine.BrowseEntry) string {
	size := fmt.Sprintf("%12d", e.Size)
	if e.Rdev != nil {
		size = fmt.Sprintf("%5d, %5d", e.Rdev.Major, e.Rdev.Minor)
	}
	return fmt.Sprintf("%s %6d %6d %s %s", e.ModeString(), e.UID, e.GID, size, e.Mtime.Local().Format(time.DateTime))
}

// arrowTarget is " -> TARGET" for a symlink, as ls -l ends its line.
func arrowTarget(e engine.BrowseEntry) string {
	if e.Type != "symlink" {
		return ""
	}
	return " -> " + oneLine(e.Target)
}

// browseErr makes a bad path given to ls, find or dump a usage error.
func browseErr(err error) error {
	if err != nil && (errors.Is(err, manifest.ErrBadPath) || errors.Is(err, exclude.ErrBadPattern)) {
		return usageError{err}
	}
	return err
}
