package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/repo"
)

func initCmd(g *globals) *cobra.Command {
	var repoPath, chunk, layout string
	var encrypt bool
	cmd := &cobra.Command{
		Use:   "init --repo REPO|s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX] [--chunk-size 2M] [--layout subvolume|hardlink] [--encrypt]",
		Short: "Create a repository (every other command needs one)",
		Long: "Create an empty repository (mode 0700) at a path that does not exist or is an empty\n" +
			"directory; a path below a mount point that /etc/fstab lists but nothing is mounted on\n" +
			"is refused. No other command creates a repository. --chunk-size fixes the chunk size of every\n" +
			"block-mode backup in it: 64K to 64M, a multiple of 4K, in LVM's binary units (2M is\n" +
			"2 MiB, the default). Smaller chunks store less per small change, larger ones mean\n" +
			"fewer files; chunks of different sizes never deduplicate, so it cannot change later.\n\n" +
			"--layout says how file-mode trees are stored, also fixed for good: hardlink (a\n" +
			"directory tree per backup, unchanged files hard-linked to the previous one) or\n" +
			"subvolume (btrfs only: each backup a read-only btrfs subvolume, a snapshot of the\n" +
			"previous one with only the changes applied; a run costs the walk plus the changes,\n" +
			"prune deletes a subvolume at once). The default is subvolume on btrfs when run as\n" +
			"root, hardlink elsewhere.\n\n" +
			"An s3: repository (restic's syntax) holds block-mode backups only, all of it in the\n" +
			"bucket (created when missing); credentials come from AWS_ACCESS_KEY_ID and\n" +
			"AWS_SECRET_ACCESS_KEY, or the file AWS_SHARED_CREDENTIALS_FILE names. --encrypt\n" +
			"encrypts and authenticates every object of an s3: repository, names included, under\n" +
			"a key from --key-file, LVBACK_PASSWORD or LVBACK_PASSWORD_FILE (stretched with\n" +
			"argon2id); every later command needs the same key.\n\n" + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if repoPath == "" {
				return usagef("init needs --repo")
			}
			size := 0
			if chunk != "" {
				n, err := parseBinarySize(chunk)
				if err != nil {
					return usagef("--chunk-size: %v", err)
				}
				size = int(n)
				if err := blockdiff.CheckChunkSize(size); err != nil {
					return usagef("--chunk-size %s: %v", chunk, err)
				}
			}
			if layout != "" && layout != repo.LayoutHardlink && layout != repo.LayoutSubvolume {
				return usagef("--layout %q: use %s or %s", layout, repo.LayoutSubvolume, repo.LayoutHardlink)
			}
			s := repo.Settings{BlockChunkSize: size, Layout: layout}
			if encrypt {
				secret, err := repo.SecretFromEnv()
				if err != nil {
					return usagef("--encrypt: %v", err)
				}
				s.Secret = &secret
			}
			r, err := engine.Init(repoPath, s)
			if err != nil {
				return err
			}
			if !g.quiet {
				what := r.Layout + " layout"
				if r.Remote != nil {
					what = "block mode only"
					if encrypt {
						what += ", encrypted"
					}
				}
				fmt.Fprintf(g.stdout, "created repository %s (block chunk size %s, %s)\n", r, units.Bytes(int64(r.BlockChunkSize)), what)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repoPath, "repo", "", "repository directory (must not exist or be empty)")
	cmd.Flags().StringVar(&chunk, "chunk-size", "", "block-mode chunk size, e.g. 1M, 2M (default), 4M")
	cmd.Flags().StringVar(&layout, "layout", "", "file-mode trees: subvolume (btrfs; the default there as root) or hardlink")
	cmd.Flags().BoolVar(&encrypt, "encrypt", false, "encrypt an s3: repository (key from --key-file, LVBACK_PASSWORD or LVBACK_PASSWORD_FILE)")
	return cmd
}

// parseBinarySize parses a size the way LVM does: a number of bytes, or a
// number followed by K, M or G (upper or lower case, optionally "iB"),
// each a power of 1024.
func parseBinarySize(s string) (int64, error) {
	num := strings.TrimSuffix(strings.TrimSuffix(s, "iB"), "B")
	shift := 0
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		}
		if shift > 0 {
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 || v > 1<<40>>shift {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, or one with K, M or G", s)
	}
	return v << shift, nil
}
