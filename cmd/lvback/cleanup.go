package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/config"
	"github.com/lvback/lvback/lvm"
)

func cleanupCmd(g *globals) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "cleanup [--config FILE]",
		Short: "Remove snapshots and mounts a killed lvback run left behind",
		Long: "Unmount what is mounted under " + lvm.DefaultRunDir + ", remove LVs tagged 'lvback' whose\n" +
			"name matches lvback's snapshot pattern, and delete leftover btrfs snapshots of the\n" +
			"config's btrfs volumes. Nothing else is ever touched.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var subvols []string
			if cfgPath != "" {
				cfg, err := config.Load(cfgPath)
				if err != nil {
					return usageError{err}
				}
				subvols = btrfsSubvols(cfg)
			}
			removed, err := lvm.Cleanup(cmd.Context(), lvm.DefaultRunDir, subvols, g.logger())
			for _, r := range removed {
				fmt.Fprintln(g.stdout, "removed", r)
			}
			if len(removed) == 0 && err == nil && !g.quiet {
				fmt.Fprintln(g.stdout, "nothing to clean up")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (for its btrfs volumes)")
	return cmd
}
