package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
)

func findCmd(g *globals) *cobra.Command {
	var o engine.FindOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "find --repo REPO [--name NAME] PATTERN... [--newest N] [--json]",
		Short: "Find the backups that hold matching paths, and their versions",
		Long: "Search the manifests of every complete file-mode backup (of NAME, or of every\n" +
			"volume) for entries matching any PATTERN. A pattern without a slash matches a\n" +
			"base name at any depth (fstab, *.conf); one with a slash the whole path from the\n" +
			"backup's root (/etc/fstab, etc/**/*.conf); * ? [..] and ** as for --exclude.\n" +
			"Each matching path is printed once, then every backup holding it, oldest\n" +
			"first, with type, mode, owner, size, mtime and content hash; '*' marks a\n" +
			"version that differs (type, size, hash or target) from the one before it;\n" +
			"a symlink's line ends in -> TARGET. Modes and names print as for ls -l.\n" +
			"Block-mode backups hold no paths and are skipped. Only manifests are read,\n" +
			"side by side and streamed. --json prints one object per version and line\n" +
			"(NDJSON), grouped by path: name, id, time, the fields of ls --json, changed.\n\n" + exitHelp,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Repo == "" {
				return usagef("find needs --repo")
			}
			if err := checkName(o.Name); err != nil {
				return err
			}
			if o.Newest < 0 {
				return usagef("--newest %d: want 1 or more (0: all)", o.Newest)
			}
			o.Patterns = args
			if os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(engine.FindMemoryLimit)
			}
			emit := func(group []engine.FindMatch) error { return printVersions(g, group) }
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				emit = func(group []engine.FindMatch) error {
					for _, m := range group {
						if err := enc.Encode(m); err != nil {
							return err
						}
					}
					return nil
				}
			}
			return browseErr(engine.Find(cmd.Context(), o, emit))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory")
	f.StringVar(&o.Name, "name", "", "only this volume name")
	f.IntVar(&o.Newest, "newest", 0, "search only the N newest file-mode backups of each name (0: all)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}

// printVersions prints one path and its versions, one line each.
func printVersions(g *globals, group []engine.FindMatch) error {
	if _, err := fmt.Fprintf(g.stdout, "%s (%s)\n", oneLine(group[0].Path), group[0].Name); err != nil {
		return err
	}
	for _, m := range group {
		mark := " "
		if m.Changed {
			mark = "*"
		}
		hash := m.Hash
		if len(hash) > 16 {
			hash = hash[:16]
		}
		cols := longColumns(m.BrowseEntry)
		if hash != "" {
			cols += " " + hash
		}
		if _, err := fmt.Fprintf(g.stdout, "%s %-22s %s%s\n", mark, m.ID, cols, arrowTarget(m.BrowseEntry)); err != nil {
			return err
		}
	}
	return nil
}
