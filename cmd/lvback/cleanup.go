package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/config"
	"github.com/lvback/lvback/lvm"
)

func cleanupCmd(g *globals) *cobra.Command {
	var cfgPath string
	var kept bool
	cmd := &cobra.Command{
		Use:   "cleanup [--config FILE]",
		Short: "Remove snapshots and mounts a killed lvback run left behind",
		Long: "Unmount what is mounted under " + lvm.DefaultRunDir + ", remove LVs tagged 'lvback' whose\n" +
			"name matches lvback's snapshot pattern, and delete leftover btrfs snapshots of the\n" +
			"config's btrfs volumes. Nothing else is ever touched.\n\n" +
			"The one thin snapshot per volume that block-mode backups of a thin LV keep for\n" +
			"thin_delta (tagged 'lvback-kept', named <lv>-lvback-kept-<time>) stays, unless\n" +
			"--kept is given: then it is removed too, and the next backup reads the whole volume.\n\n" + exitHelp,
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
			if kept && err == nil {
				var more []string
				more, err = lvm.CleanupKept(cmd.Context(), g.logger(), nil)
				removed = append(removed, more...)
			}
			for _, r := range removed {
				fmt.Fprintln(g.stdout, r)
			}
			if len(removed) == 0 && err == nil && !g.quiet {
				fmt.Fprintln(g.stdout, "nothing to clean up")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (for its btrfs volumes)")
	cmd.Flags().BoolVar(&kept, "kept", false, "also remove the thin snapshots kept for thin_delta")
	return cmd
}
