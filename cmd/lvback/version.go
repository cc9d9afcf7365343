package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/internal/buildinfo"
)

// setVersion gives root the --version flag (restic's and borg's name),
// printing the same line as `lvback version`.
func setVersion(root *cobra.Command) {
	info := buildinfo.Get()
	root.Version = info.Version
	root.SetVersionTemplate(info.String() + "\n")
}

func versionCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print lvback's version, commit and date",
		Long: "Print lvback's version, the git commit it was built from and that commit's date\n" +
			"(stamped by make build; for a plain go build, what Go recorded of the module\n" +
			"and the checkout), and the Go toolchain, OS and architecture. --json prints the\n" +
			"fields version, commit, date, go_version, go_os and go_arch.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			info := buildinfo.Get()
			if !asJSON {
				_, err := fmt.Fprintln(g.stdout, info.String())
				return err
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(info)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the fields as one JSON object")
	return cmd
}
