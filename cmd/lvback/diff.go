package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/units"
)

func diffCmd(g *globals) *cobra.Command {
	var repoPath, name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff --repo REPO --name NAME ID1 ID2 [--json]",
		Short: "List paths added, removed and changed between two backups, from their manifests or indexes",
		Long: "Compare two backups' manifests without reading file data. Each line is\n" +
			"'+ PATH' (added), '- PATH' (removed) or 'M PATH (what)' where what lists\n" +
			"content, size, mode, owner, mtime, xattrs, type, target, device, hardlink.\n" +
			"A path ID2's exclude rules left out is 'x PATH (excluded)', not removed; one\n" +
			"ID1's rules left out is '+ PATH (no longer excluded)' (JSON kinds excluded, included).\n" +
			"Two block backups are compared chunk by chunk: each run of differing chunks of the\n" +
			"newer image is 'M image bytes FIRST-LAST (X MiB)' (byte offsets, LAST included; JSON\n" +
			"kind range with offset and length), then 'M image (size, N of M chunks differ, X MiB)'\n" +
			"(JSON adds chunks, of_chunks, bytes, old_size, new_size) when the images differ.\n" +
			"A block and a file backup cannot be compared (exit 2).",
		Args: idArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if repoPath == "" || name == "" {
				return usagef("diff needs --repo and --name")
			}
			if err := checkName(name); err != nil {
				return err
			}
			o := engine.DiffOptions{Repo: repoPath, Name: name, Old: args[0], New: args[1]}
			p := &diffPrinter{g: g, asJSON: asJSON}
			err := engine.Diff(cmd.Context(), o, p.print)
			if err == nil || p.sep != "" { // nothing on stdout for backups that cannot be compared
				p.end()
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&repoPath, "repo", "", "repository directory")
	f.StringVar(&name, "name", "", "volume name")
	f.BoolVar(&asJSON, "json", false, "print a JSON array of {path, kind, what} (block images: ranges with offset, length, then totals)")
	return cmd
}

type diffItem struct {
	Path string   `json:"path"`
	Kind string   `json:"kind"`
	What []string `json:"what,omitempty"`
	*DiffRange
	*DiffTotal
}

// DiffRange is a run of differing bytes of a block backup's image in
// diff --json (exported so that an embedding diffItem also decodes).
type DiffRange struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// DiffTotal sums up the differences of two block backups' images in
// diff --json (exported, as DiffRange).
type DiffTotal struct {
	Chunks  int64 `json:"chunks"`
	Of      int64 `json:"of_chunks"`
	Bytes   int64 `json:"bytes"`
	OldSize int64 `json:"old_size"`
	NewSize int64 `json:"new_size"`
}

// item is c as one JSON array element.
func item(c engine.Change) diffItem {
	it := diffItem{Path: c.Path, Kind: c.Kind, What: c.What}
	if r := c.Range; r != nil {
		it.DiffRange = &DiffRange{Offset: r.Offset, Length: r.Length}
	}
	if t := c.Total; t != nil {
		it.DiffTotal = &DiffTotal{Chunks: t.Chunks, Of: t.Of, Bytes: t.Bytes, OldSize: t.OldSize, NewSize: t.NewSize}
	}
	return it
}

// diffPrinter prints the changes engine.Diff emits as they come
// (constant memory for any manifest size), as lines or as one JSON array.
type diffPrinter struct {
	g      *globals
	asJSON bool
	sep    string // before the next JSON item: "" before the first
}

func (p *diffPrinter) print(c engine.Change) error {
	out := p.g.stdout
	if p.asJSON {
		b, err := json.Marshal(item(c))
		if err != nil {
			return err
		}
		if p.sep == "" {
			p.sep = "["
		}
		fmt.Fprintf(out, "%s\n  %s", p.sep, b)
		p.sep = ","
		return nil
	}
	switch c.Kind {
	case "added":
		fmt.Fprintf(out, "+ %s\n", quotePath(c.Path))
	case "removed":
		fmt.Fprintf(out, "- %s\n", quotePath(c.Path))
	case "excluded":
		fmt.Fprintf(out, "x %s (excluded)\n", quotePath(c.Path))
	case "included":
		fmt.Fprintf(out, "+ %s (no longer excluded)\n", quotePath(c.Path))
	case engine.KindRange:
		r := c.Range
		fmt.Fprintf(out, "M %s bytes %d-%d (%s)\n", quotePath(c.Path), r.Offset, r.Offset+r.Length-1, units.Bytes(r.Length))
	default:
		fmt.Fprintf(out, "M %s (%s)\n", quotePath(c.Path), strings.Join(c.What, ", "))
	}
	return nil
}

// end closes the JSON array, also an empty one or one cut short.
func (p *diffPrinter) end() {
	if !p.asJSON {
		return
	}
	if p.sep == "" {
		fmt.Fprint(p.g.stdout, "[")
	}
	fmt.Fprintln(p.g.stdout, "\n]")
}

// quotePath prints "." for the root and escapes names as every text
// output does (oneLine), so every change stays on one line.
func quotePath(p string) string {
	if p == "" {
		return "."
	}
	return oneLine(p)
}
