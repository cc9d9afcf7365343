package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/internal/buildinfo"
)

// gendocsCmd is the hidden command `make man` runs: it writes the man
// pages and shell completions generated from the command tree, so that
// they always match the flags of the binary that wrote them.
func gendocsCmd() *cobra.Command {
	var manDir, complDir string
	cmd := &cobra.Command{
		Use:    "gen-docs [--man DIR] [--completions DIR]",
		Short:  "Write the man pages and shell completions (for packaging)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if manDir == "" && complDir == "" {
				return usagef("gen-docs needs --man DIR or --completions DIR")
			}
			root := cmd.Root()
			if manDir != "" {
				if err := writeMan(root, manDir); err != nil {
					return err
				}
			}
			if complDir != "" {
				return writeCompletions(root, complDir)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manDir, "man", "", "write lvback.8 and one lvback-COMMAND.8 per command here")
	cmd.Flags().StringVar(&complDir, "completions", "", "write lvback.bash, _lvback (zsh) and lvback.fish here")
	return cmd
}

// writeMan writes section-8 man pages for root and every visible command
// into dir (writeManPage), dated by the build's commit so that a rebuild
// is identical.
func writeMan(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	info := buildinfo.Get()
	h := manHeader{section: "8", source: "lvback " + info.Version, manual: "lvback Manual"}
	date := time.Now()
	if t, err := time.Parse(time.RFC3339, info.Date); err == nil {
		date = t
	}
	h.date = date.Format("Jan 2006")
	return writeManTree(root, h, dir)
}

// writeManTree writes the page of cmd and of each visible command below
// it, named by the command path joined with "-".
func writeManTree(cmd *cobra.Command, h manHeader, dir string) error {
	for _, c := range cmd.Commands() {
		if manPageOf(c) {
			if err := writeManTree(c, h, dir); err != nil {
				return err
			}
		}
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-") + "." + h.section
	var b bytes.Buffer
	if err := writeManPage(&b, cmd, h); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("man page: %w", err)
	}
	return nil
}

// writeCompletions writes the bash, zsh and fish completion scripts of
// root into dir, under the names their packages install them as.
func writeCompletions(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, gen := range map[string]func(string) error{
		"lvback.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
		"_lvback":     root.GenZshCompletionFile,
		"lvback.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
	} {
		if err := gen(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("completion %s: %w", name, err)
		}
	}
	return nil
}
