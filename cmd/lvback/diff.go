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
			"content, size, mode, owner, mtime, xattrs, type, target, device, hardlink.\n" +
			"A path ID2's exclude rules left out is 'x PATH (excluded)', not removed; one\n" +
			"ID1's rules left out is '+ PATH (no longer excluded)' (JSON kinds excluded, included).",
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
			var readers, excluded [2]*manifest.Reader
			for i, id := range args {
				b, err := r.Pick(name, id)
				if err != nil {
					return err
				}
				if readers[i], err = manifest.Open(b.ManifestPath()); err != nil {
					return err
				}
				defer readers[i].Close()
				if b.Info.Excludes != nil { // made with exclude rules: they left these out
					if excluded[i], err = manifest.Open(b.ExcludedPath()); err != nil {
						return err
					}
					defer excluded[i].Close()
				}
			}
			return printDiff(g, readers, excluded, asJSON)
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

// printDiff streams the differences of two manifests, knowing what the
// exclude rules of each backup left out (excluded lists, nil for none):
// constant memory for any manifest size.
func printDiff(g *globals, m, excluded [2]*manifest.Reader, asJSON bool) error {
	sep := "["
	err := manifest.DiffExcluded(m[0], m[1], excluded[0], excluded[1], func(c manifest.Change) error {
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
		case "excluded":
			fmt.Fprintf(g.stdout, "x %s (excluded)\n", quotePath(c.Path))
		case "included":
			fmt.Fprintf(g.stdout, "+ %s (no longer excluded)\n", quotePath(c.Path))
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
