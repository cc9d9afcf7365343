package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/units"
)

const statsLong = `Count what the complete backups of each volume (or of --name) hold and take
on disk, like restic's stats and borg's info:

  logical  what a restore writes: the regular files' sizes the manifest lists
           (a hard-linked file once), or a block backup's image size
  stored   what the backups take on disk, every piece counted once: allocated
           bytes (st_blocks, as du counts, hard links once) of the backup
           directories, data extents mapped with FIEMAP so that btrfs snapshot
           and reflink extents shared by several backups count once (inode
           identity where FIEMAP does not work, e.g. tmpfs), plus each chunk
           object once at its stored (compressed) size
  unique   what pruning that backup alone would free: the inodes, extents and
           chunks no other backup references; for a volume, what no other
           volume references
  dedup    block mode: raw bytes of all chunk references over the raw bytes of
           the distinct chunks; compression: distinct raw bytes over stored

The repository's total counts a piece several volumes share once, and (without
--name) every chunk the store holds, "unreferenced" ones too (prune collects
them). stats only reads and takes no lock: run during a prune it may count a
deleted backup in part. It walks every backup's tree, so it takes about as long
as du over the repository.

--json prints {"repo", "volumes": [{"name", "backups": [{"id", "time", "mode",
"logical_bytes", "unique_bytes"}], totals}], "total": totals}, where totals are
"backups_count", "logical_bytes", "stored_bytes", "unique_bytes" (volumes), and
for block mode "chunks_count", "chunk_raw_bytes", "chunk_stored_bytes",
"referenced_raw_bytes", "dedup_ratio", "compression_ratio", "unreferenced_bytes"
and "missing_chunks" (left out when 0). Byte counts are exact integers.

`

func statsCmd(g *globals) *cobra.Command {
	var o engine.StatsOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats --repo REPO [--name NAME] [--json]",
		Short: "Show the logical, stored and unique bytes of each backup and volume",
		Long:  statsLong + exitHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Repo == "" {
				return usagef("stats needs --repo")
			}
			if err := checkName(o.Name); err != nil {
				return err
			}
			rep, err := engine.Stats(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return printStats(g.stdout, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", "", "repository directory")
	f.StringVar(&o.Name, "name", "", "only this volume name (default: every name)")
	f.BoolVar(&asJSON, "json", false, "print a JSON object")
	f.IntVar(&o.Jobs, "jobs", engine.DefaultJobs(), "backups counted at once")
	return cmd
}

// printStats prints a table per volume (a row per backup) and its
// totals, then the repository's totals.
func printStats(w io.Writer, rep *engine.StatsReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range rep.Volumes {
		fmt.Fprintf(tw, "volume %s\n", v.Name)
		fmt.Fprintln(tw, "  ID\tTIME\tMODE\tLOGICAL\tUNIQUE")
		for _, b := range v.Backups {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", b.ID, b.Time.Local().Format(time.DateTime), b.Mode,
				units.Bytes(b.LogicalBytes), units.Bytes(b.UniqueBytes))
		}
		printTotals(tw, "  ", v.StatsTotals)
		fmt.Fprintf(tw, "  only this volume:\t%s\n\n", units.Bytes(v.UniqueBytes))
	}
	fmt.Fprintf(tw, "repository %s\n", rep.Repo)
	printTotals(tw, "  ", rep.Total)
	if rep.Total.UnreferencedBytes > 0 {
		fmt.Fprintf(tw, "  unreferenced chunks:\t%s\n", units.Bytes(rep.Total.UnreferencedBytes))
	}
	return tw.Flush()
}

// printTotals prints the lines of a totals block, each after indent.
func printTotals(w io.Writer, indent string, t engine.StatsTotals) {
	fmt.Fprintf(w, "%sbackups:\t%d\n", indent, t.BackupsCount)
	fmt.Fprintf(w, "%slogical:\t%s\n", indent, units.Bytes(t.LogicalBytes))
	fmt.Fprintf(w, "%sstored:\t%s\n", indent, units.Bytes(t.StoredBytes))
	if t.ChunksCount > 0 {
		fmt.Fprintf(w, "%schunks:\t%d, %s raw, %s stored\n", indent, t.ChunksCount, units.Bytes(t.ChunkRawBytes), units.Bytes(t.ChunkStoredBytes))
		fmt.Fprintf(w, "%sdedup ratio:\t%.2f\n", indent, t.DedupRatio)
		fmt.Fprintf(w, "%scompression ratio:\t%.2f\n", indent, t.CompressionRatio)
	}
	if t.MissingChunks > 0 {
		fmt.Fprintf(w, "%smissing chunks:\t%d (run verify)\n", indent, t.MissingChunks)
	}
}
