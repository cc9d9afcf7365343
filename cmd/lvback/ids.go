package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// checkID refuses an empty backup id as a usage error: inside lvback ""
// means the newest backup, so a script's unset $ID would otherwise read,
// tag or protect the wrong one. what names the argument in the message.
func checkID(what, id string) error {
	if id == "" {
		return usagef("%s is empty: give a backup id as list prints it, or latest for the newest", what)
	}
	return nil
}

// checkIDFlag applies checkID to an --id flag the command line gives
// explicitly (--id "" or --id=; for a list flag, every element). Left out,
// the flag keeps its default. Every command runs it (root's
// PersistentPreRunE).
func checkIDFlag(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("id")
	if f == nil || !f.Changed {
		return nil
	}
	ids := []string{f.Value.String()}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		if ids = sv.GetSlice(); len(ids) == 0 {
			ids = []string{""}
		}
	}
	for _, id := range ids {
		if err := checkID("--id", id); err != nil {
			return err
		}
	}
	return nil
}

// idArgs wraps the argument check of a command whose positional
// arguments are backup ids with checkID.
func idArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return err
		}
		for _, id := range args {
			if err := checkID("backup id", id); err != nil {
				return err
			}
		}
		return nil
	}
}
