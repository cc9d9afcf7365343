package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

func diffCmd(g *globals) *cobra.Command {
	var repoPath, name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff --repo REPO --name NAME ID1 ID2 [--json]",
		Short: "List paths added, removed and changed between two backups, from their manifests",
		Long: "Compare two backups' manifests without reading file data. Each line is\n" +
			"'+ PATH' (added), '- PATH' (removed) or 'M PATH (what)' where what lists\n" +
			"content, size, mode, owner, mtime, xattrs, type, target, device, hardlink.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if repoPath == "" || name == "" {
				return usagef("diff needs --repo and --name")
			}
			if err := checkName(name); err != nil {
				return err
			}
			r, err := repo.Open(repoPath)
			if err != nil {
				return usageError{err}
			}
			readers := make([]*manifest.Reader, 2)
			for i, id := range args {
				b, err := r.Pick(name, id)
				if err != nil {
					return err
				}
				if readers[i], err = manifest.Open(b.ManifestPath()); err != nil {
					return err
				}
				defer readers[i].Close()
			}
			return printDiff(g, readers[0], readers[1], asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&repoPath, "repo", "", "repository directory")
	f.StringVar(&name, "name", "", "volume name")
	f.BoolVar(&asJSON, "json", false, "print a JSON array of {path, kind, what}")
	return cmd
}

type diffItem struct {
	Path string   `json:"path"`
	Kind string   `json:"kind"`
	What []string `json:"what,omitempty"`
}

// printDiff streams the differences: constant memory for any manifest size.
func printDiff(g *globals, old, new *manifest.Reader, asJSON bool) error {
	sep := "["
	err := manifest.Diff(old, new, func(c manifest.Change) error {
		if asJSON {
			b, err := json.Marshal(diffItem{Path: c.Path, Kind: c.Kind, What: c.What})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s\n  %s", sep, b)
			sep = ","
			return nil
		}
		switch c.Kind {
		case "added":
			fmt.Fprintf(g.stdout, "+ %s\n", quotePath(c.Path))
		case "removed":
			fmt.Fprintf(g.stdout, "- %s\n", quotePath(c.Path))
		default:
			fmt.Fprintf(g.stdout, "M %s (%s)\n", quotePath(c.Path), strings.Join(c.What, ", "))
		}
		return nil
	})
	if asJSON {
		if sep == "[" {
			fmt.Fprint(g.stdout, "[")
		}
		fmt.Fprintln(g.stdout, "\n]")
	}
	return err
}

// quotePath prints "." for the root and quotes names with control
// characters so every change stays on one line.
func quotePath(p string) string {
	if p == "" {
		return "."
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Sprintf("%q", p)
	}
	return p
}
