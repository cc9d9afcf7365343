package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/tags"
)

func tagCmd(g *globals) *cobra.Command {
	var o engine.LabelOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tag --repo REPO --name NAME (--add T | --remove T | --set T)... ID...",
		Short: "Add, remove or replace the tags of backups",
		Long: "Change the tags of complete backups of NAME (IDs as list prints them, or latest),\n" +
			"as restic's tag does: --add and --remove (repeatable, or comma-separated) change\n" +
			"them, --set replaces them all (--set \"\" removes every tag). A tag is 1-128 bytes\n" +
			"without commas, white space or control characters. Tags live in the backup's\n" +
			"labels.json beside info.json, which never changes; the change takes NAME's lock,\n" +
			"so it never races a prune. list --tag and prune --keep-tag select by tags.\n\n" + exitHelp,
		Args: idArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, ids []string) error {
			o.IDs = ids
			o.Replace = cmd.Flags().Changed("set")
			if err := checkTagFlags(&o); err != nil {
				return err
			}
			if !o.Replace && len(o.Add)+len(o.Remove) == 0 {
				return usagef("tag needs --add, --remove or --set")
			}
			if o.Replace && len(o.Add)+len(o.Remove) > 0 {
				return usagef("--set replaces every tag: give it without --add and --remove")
			}
			return runLabel(cmd, g, o, asJSON)
		},
	}
	f := cmd.Flags()
	addLabelFlags(cmd, &o, &asJSON)
	f.StringArrayVar(&o.Add, "add", nil, "add this tag (repeat, or separate with commas)")
	f.StringArrayVar(&o.Remove, "remove", nil, "remove this tag (repeat, or separate with commas)")
	f.StringArrayVar(&o.Set, "set", nil, "replace the tags with these (repeat, or separate with commas; \"\" for none)")
	return cmd
}

func protectCmd(g *globals, protect bool) *cobra.Command {
	var o engine.LabelOptions
	var asJSON bool
	use, short := "protect", "Protect backups: no prune removes them, whatever its rules"
	long := "Protect complete backups of NAME (IDs as list prints them, or latest): prune and\n" +
		"run keep them whatever the keep rules say (prune --dry-run lists them as kept,\n" +
		"\"protected\") until unprotect. The mark lives in the backup's labels.json.\n\n" + exitHelp
	if !protect {
		use, short = "unprotect", "Unprotect backups: prune's keep rules apply to them again"
		long = "Take the protection of protect off complete backups of NAME, so that prune's\nkeep rules apply to them again.\n\n" + exitHelp
	}
	cmd := &cobra.Command{
		Use:   use + " --repo REPO --name NAME ID...",
		Short: short,
		Long:  long,
		Args:  idArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, ids []string) error {
			o.IDs, o.Protect = ids, &protect
			if err := checkTagFlags(&o); err != nil {
				return err
			}
			return runLabel(cmd, g, o, asJSON)
		},
	}
	addLabelFlags(cmd, &o, &asJSON)
	return cmd
}

// addLabelFlags defines the flags tag, protect and unprotect share.
func addLabelFlags(cmd *cobra.Command, o *engine.LabelOptions, asJSON *bool) {
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory (or s3: URL)")
	f.StringVar(&o.Name, "name", "", "volume name of the backups")
	f.BoolVar(asJSON, "json", false, "print the backups' labels as JSON")
}

// checkTagFlags refuses a missing --repo or --name, a bad name and a bad
// tag as usage errors, before anything is opened.
func checkTagFlags(o *engine.LabelOptions) error {
	if o.Repo == "" || o.Name == "" {
		return usagef("needs --repo and --name")
	}
	if err := checkName(o.Name); err != nil {
		return err
	}
	for _, ts := range [][]string{o.Add, o.Remove} {
		if _, err := tags.Parse(ts); err != nil {
			return usagef("%v", err)
		}
	}
	if len(o.Set) == 1 && o.Set[0] == "" {
		o.Set = nil // --set "": no tags
	}
	if _, err := tags.Parse(o.Set); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// runLabel changes the labels and prints each backup's new ones.
func runLabel(cmd *cobra.Command, g *globals, o engine.LabelOptions, asJSON bool) error {
	res, err := engine.Label(cmd.Context(), o)
	if asJSON && err == nil {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, l := range res {
		if g.quiet {
			break
		}
		verb := "unchanged"
		if l.Changed {
			verb = "labelled "
		}
		fmt.Fprintf(g.stdout, "%s %s/%s  tags: %s  protected: %s\n", verb, l.Name, l.ID, tagsColumn(l.Tags), protectedMark(l.Protected))
	}
	return err
}
