package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one tool in one case on one data set: every repetition and the
// figures the table shows.
type Row struct {
	Case    string   `json:"case"`
	Data    string   `json:"data"`
	Tool    string   `json:"tool"`
	Samples []Sample `json:"samples"`
	// Input is the byte count Rate is over (the image size); 0 for none.
	Input int64 `json:"input_bytes,omitempty"`
	// Wall and CPU are in seconds.
	Wall Summary `json:"wall_s"`
	CPU  Summary `json:"cpu_s"`
	// ServerCPU is the median CPU seconds the server used during the
	// runs (s3 cases); 0 for other rows.
	ServerCPU float64 `json:"server_cpu_s,omitempty"`
	MaxRSS    int64   `json:"max_rss_bytes"` // peak over the repetitions
	Written   int64   `json:"written_bytes"` // median; -1 for none
	// DevWritten is the median bytes written to the scratch loop device;
	// -1 when not measured.
	DevWritten int64 `json:"device_written_bytes"`
	// Manifest is the median manifest size of the backups an lvback
	// backup row made; 0 for other rows.
	Manifest int64   `json:"manifest_bytes,omitempty"`
	Rate     float64 `json:"rate_mb_s,omitempty"`
	// Ratio is this row's median wall time over lvback's (lvback-subvol's
	// with -fs btrfs) in the same case and data set: above 1 lvback is
	// faster.
	Ratio float64 `json:"peer_over_lvback,omitempty"`
	// Checks are the targets set for this row with their verdicts; Target
	// joins their texts and Met is whether all were met.
	Checks []Check `json:"checks,omitempty"`
	Target string  `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
}

// Check is one target of a row and whether it was met.
type Check struct {
	Target string `json:"target"`
	Met    bool   `json:"met"`
}

// Report is the JSON a run writes to bench/results/.
type Report struct {
	Date     string    `json:"date"`
	Host     string    `json:"host"`
	Kernel   string    `json:"kernel"`
	CPUs     int       `json:"cpus"`
	Commit   string    `json:"lvback_commit"`
	Command  string    `json:"command"`
	Reps     int       `json:"reps"`
	Scratch  string    `json:"scratch"`
	Legend   []string  `json:"legend"`
	Datasets []Dataset `json:"datasets"`
	Rows     []*Row    `json:"rows"`
	Skipped  []string  `json:"skipped,omitempty"`
	Seconds  float64   `json:"elapsed_s"`
}

// legend explains the table; it is printed under it and stored in the JSON.
func legend(o options) []string {
	reps := o.reps
	l := []string{
		fmt.Sprintf("wall: median of %d repetitions, min-max their spread; cpu: median user+sys of the process and the children it waited for; rss: peak over the repetitions (wait4 maxrss)", reps),
		"written: median allocated size of the inodes the run created in its destination, each inode once (hard links to older files cost nothing), as du counts; dev written: median bytes written to the scratch file system's loop device (/sys/block/loopN/stat sectors × 512) from the start of the run until after it (with its trailing sync -f or cleaner wait) and a syncfs: data, metadata and journal, what the disk sees",
		"peer/lvback: the peer's median wall time over lvback's: above 1 lvback is faster; for dd and the zstd bound it is lvback's share of that rate. MB/s: image bytes / wall",
		"+sync: the peer followed by `sync -f` on the destination's file system, timed together. lvback syncs (syncfs) before it reports a backup complete; cp and rsync do not, so compare lvback with the +sync rows for like-for-like durability",
		"commands: lvback -q backup|verify --id NEWEST|prune --keep-last 2|restore; rsync -aHX --numeric-ids SRC/ DST/; cp -a SRC DST; rsync -aHX --numeric-ids --delete --link-dest=PREV SRC/ DST/; rsync -anc SRC/ BACKUP/; rm -rf OLDEST; dd if=IMG of=/dev/null bs=4M iflag=direct; cp --sparse=always IMG OUT",
		"cp --sparse=always +sync beside a first block backup: the disk's time to copy the image durably (no target); a backup of incompressible data writes as much",
		"zstd bound: the image's non-zero 2 MiB chunks compressed from memory with klauspost zstd SpeedFastest on GOMAXPROCS goroutines, no I/O",
		"block first, memory: the same first backup with the image and the repository in a tmpfs (/dev/shm), beside the zstd bound measured in the same repetition: lvback's pipeline against the bound with the disk out of the way",
		"every repetition starts from the same state: the pristine tree or image and empty destinations; incremental = 1% of the files changed (64 bytes appended), 0.1% added, 0.1% removed (seeded); block 1% changed = a 64 KiB piece overwritten in 1% of the 2 MiB chunks; both are undone after the repetition (bytes, modes, mtimes)",
		fmt.Sprintf("runs alternate: lvback first in odd-numbered repetitions, last in even ones; each run follows a syncfs of the scratch file system, a %v pause and a wait until the scratch device has written nothing for 1 s (at most 35 s: btrfs goes on writing for the previous run past its syncfs). File cases run with warm caches (nothing is evicted), except prune: as root every prune run (lvback and rm -rf) starts with the dentry and inode caches dropped (drop_caches 2), as a nightly prune of a backup written days before does; block cases but the memory one drop the image and the repository from the page cache (fadvise DONTNEED) before every run, so both tools read the disk", settlePause),
	}
	if o.s3Cases() {
		l = append(l,
			"s3 first, s3 1% changed (on img-text): lvback = lvback -q backup --mode blocks into a local repository on the scratch file system; lvback-s3 = the same into an s3: repository (s3:http://127.0.0.1:PORT/BUCKET/img-text-REP/lvback, LVBACK_CACHE_DIR on the scratch file system, fresh each repetition); restic = restic 0.18 backing the image up as a file to s3:.../img-text-REP/restic; the 1% changed runs are each tool's second backup into the same repository",
			"s3 rows: cpu A+B = the tool's CPU seconds + the SeaweedFS server's during the run (/proc/PID/stat); on a 2-core machine the server's work competes with the tool's for the same cores; peer/lvback of lvback-s3 is lvback-s3 / lvback (local), target ≤ 1.5; of restic it is restic / lvback-s3, target ≥ 1 (lvback-s3 faster); written = growth of the object bytes listed under the repository's bucket prefix (what was uploaded and kept); dev written = the scratch device's writes, which hold the server's volumes and filer store and the tool's local cache",
		)
	}
	if o.btrfs() {
		l = append(l,
			"-fs btrfs (issue 16): lvback-subvol = repository made with lvback init --layout subvolume, lvback-hardlink = init --layout hardlink, each its own repository on the same btrfs as rsync's copies; peer/lvback is over lvback-subvol's wall time (for lvback-hardlink: hardlink/subvol); cp -a is not run",
			fmt.Sprintf("issue 16's targets (tree of >= %d files in >= %d dirs): incremental and no change >= 8× faster than rsync --link-dest and >= 3× faster than lvback-hardlink; no change dev written < 1 MB + the backup's manifest (backups/NAME/ID/manifest.zst); prune of one backup < %.1f s; subvol peak RSS <= hardlink's in the same case", issue16Files, issue16Dirs, issue16PruneSecs),
			"lvback-subvol prune deletes the subvolume with one ioctl and the kernel's cleaner frees its blocks afterwards: the +cleaner row adds `btrfs filesystem sync; btrfs subvolume sync` (a commit, then the wait for the cleaner, polled once a second) to the time; every run's settle waits for the cleaner first")
	}
	return l
}

// finish computes every row's figures from its samples, orders the rows by
// data set, case and tool (lvback first) and evaluates the targets.
func finish(rows []*Row, datasets []Dataset) {
	for _, r := range rows {
		var walls, cpus, servers []time.Duration
		var written, dev, manifest []int64
		for _, s := range r.Samples {
			walls, cpus, written = append(walls, s.Wall), append(cpus, s.CPU), append(written, s.Written)
			servers = append(servers, s.ServerCPU)
			dev, manifest = append(dev, s.DevWritten), append(manifest, s.Manifest)
			r.MaxRSS = max(r.MaxRSS, s.MaxRSS)
		}
		r.Wall, r.CPU, r.Written = summarize(seconds(walls)), summarize(seconds(cpus)), medianInt(written)
		r.ServerCPU = summarize(seconds(servers)).Median
		r.DevWritten, r.Manifest = medianInt(dev), medianInt(manifest)
		if r.Input > 0 && r.Wall.Median > 0 {
			r.Rate = float64(r.Input) / r.Wall.Median / 1e6
		}
	}
	dataIdx := func(n string) int { return slices.IndexFunc(datasets, func(d Dataset) bool { return d.Name == n }) }
	caseIdx := func(c string) int {
		return slices.Index([]string{caseFull, caseIncr, caseNoChange, caseVerify, casePrune, caseBlockFirst, caseBlockMem, caseBlockIncr, caseBlockRestore, caseS3First, caseS3Incr}, c)
	}
	slices.SortStableFunc(rows, func(a, b *Row) int {
		return cmp.Or(cmp.Compare(dataIdx(a.Data), dataIdx(b.Data)), cmp.Compare(caseIdx(a.Case), caseIdx(b.Case)),
			cmp.Compare(toolRank(a.Tool), toolRank(b.Tool)))
	})
	evaluate(rows)
}

// toolRank orders a case's rows: the reference lvback first, then the
// hardlink layout, then the peers.
func toolRank(tool string) int {
	switch {
	case isRef(tool):
		return 0
	case isLvback(tool):
		return 1
	}
	return 2
}

// printReport writes the header, the table and the legend.
func printReport(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "\nlvback benchmark %s on %s (%d CPUs, Linux %s), lvback %s\n", rep.Date, rep.Host, rep.CPUs, rep.Kernel, rep.Commit)
	fmt.Fprintf(w, "scratch: %s\n", rep.Scratch)
	for _, d := range rep.Datasets {
		fmt.Fprintf(w, "data %-10s %s, %s\n", d.Name+":", d.About, human(d.Bytes))
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "SKIPPED: %s\n", s)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tdata\ttool\twall s\tmin-max\tcpu s\trss MB\twritten\tdev written\tMB/s\tpeer/lvback\ttarget")
	for _, r := range rep.Rows {
		rss, rate, ratio, verdict := "-", "", "", r.Target
		if r.MaxRSS > 0 {
			rss = fmt.Sprintf("%.0f", float64(r.MaxRSS)/1e6)
		}
		if r.Rate > 0 {
			rate = fmt.Sprintf("%.0f", r.Rate)
		}
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		if len(r.Checks) > 0 {
			var v []string
			for _, c := range r.Checks {
				v = append(v, c.Target+map[bool]string{true: ": met", false: ": NOT MET"}[c.Met])
			}
			verdict = strings.Join(v, "; ")
		} else if r.Met != nil {
			verdict += map[bool]string{true: ": met", false: ": NOT MET"}[*r.Met]
		}
		cpu := fmt.Sprintf("%.2f", r.CPU.Median)
		if r.ServerCPU > 0 {
			cpu += fmt.Sprintf("+%.2f", r.ServerCPU)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.2f-%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Case, r.Data, r.Tool,
			r.Wall.Median, r.Wall.Min, r.Wall.Max, cpu, rss, human(r.Written), human(r.DevWritten), rate, ratio, verdict)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, l := range rep.Legend {
		fmt.Fprintf(w, "- %s\n", l)
	}
	fmt.Fprintf(w, "elapsed %.0f s\n", rep.Seconds)
}

// human formats a byte count in decimal units; "-" for none.
func human(n int64) string {
	switch {
	case n < 0:
		return "-"
	case n < 1e6:
		return fmt.Sprintf("%.0f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

// writeJSON writes rep to path (its directory is created), indented, so
// results diff well in review.
func writeJSON(path string, rep *Report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// resultPath is dir/DATE-HOST.json, or DATE-HOST-N.json when that exists.
func resultPath(dir, date, host string) string {
	base := filepath.Join(dir, date+"-"+strings.ReplaceAll(host, "/", "_"))
	p := base + ".json"
	for i := 2; ; i++ {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			return p
		}
		p = fmt.Sprintf("%s-%d.json", base, i)
	}
}
