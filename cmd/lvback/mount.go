package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/mount"
)

func mountCmd(g *globals) *cobra.Command {
	var repoPath, name, cache string
	cmd := &cobra.Command{
		Use:   "mount --repo REPO MOUNTPOINT [--name NAME] [--cache 64M]",
		Short: "Serve complete backups read-only with FUSE until SIGINT, SIGTERM or umount",
		Long: "Mount the repository's complete backups read-only at MOUNTPOINT (an existing\n" +
			"directory): MOUNTPOINT/NAME/ID/ is a file-mode backup's tree, or for a block-mode\n" +
			"backup the sparse image file NAME.img, read from the chunk store on demand (each\n" +
			"chunk checked against its hash; a damaged chunk fails reads touching it with EIO).\n" +
			"--cache bounds the decompressed chunks kept per image. The command runs until\n" +
			"SIGINT or SIGTERM (it then unmounts and exits 0; while the mount is busy it says so\n" +
			"and keeps serving) or until `umount MOUNTPOINT` / `fusermount3 -u MOUNTPOINT`.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("mount needs one MOUNTPOINT, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if repoPath == "" {
				return usagef("mount needs --repo")
			}
			if err := checkName(name); err != nil {
				return err
			}
			o := mount.Options{Name: name, Logger: g.logger()}
			if cache != "" {
				n, err := parseBinarySize(cache)
				if err != nil || n <= 0 {
					return usagef("--cache %s: want a size such as 64M", cache)
				}
				o.CacheBytes = n
			}
			srv, err := mount.Mount(repoPath, args[0], o)
			if err != nil {
				return err
			}
			g.logger().Info("mounted", "repo", repoPath, "at", args[0])
			return serveUntilDone(cmd, g, srv)
		},
	}
	f := cmd.Flags()
	f.StringVar(&repoPath, "repo", "", "repository directory")
	f.StringVar(&name, "name", "", "only this volume name")
	f.StringVar(&cache, "cache", "", "decompressed chunks kept per image (default 64M)")
	return cmd
}

// serveUntilDone waits for an external unmount, or for a signal and then
// unmounts. A mount still in use when the signal comes (a loop device, a
// mounted partition) stays served: that is said once, and the unmount is
// retried every unmountRetry until it succeeds or the mount is unmounted
// from outside. Either way the command exits 0: stopping is how a mount
// is meant to end.
func serveUntilDone(cmd *cobra.Command, g *globals, srv *mount.Server) error {
	done := make(chan struct{})
	go func() {
		srv.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-cmd.Context().Done():
	}
	tick := time.NewTicker(unmountRetry)
	defer tick.Stop()
	for said := false; ; {
		err := srv.Unmount()
		if err == nil {
			<-done
			return nil
		}
		if !said {
			g.printError(err.Error() + "; still mounted until what uses it stops (or umount it)")
			said = true
		}
		select {
		case <-done:
			return nil
		case <-tick.C:
		}
	}
}

// unmountRetry is how often a busy mount's unmount is retried after a
// signal: often enough that detaching a loop device ends the command at
// once, rarely enough to cost nothing.
const unmountRetry = time.Second
