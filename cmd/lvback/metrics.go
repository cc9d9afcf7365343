package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lvback/lvback/internal/durable"
	"github.com/lvback/lvback/repo"
)

// volumeResult is the outcome of backing up one volume in this process.
type volumeResult struct {
	Name        string        `json:"name"`
	Source      string        `json:"source,omitempty"` // the LV, directory or subvolume`
	OK          bool          `json:"ok"`
	Error       string        `json:"error,omitempty"`
	locked      bool          // Error is the volume's lock, held by another run
	ID          string        `json:"id,omitempty"`
	Files       int64         `json:"files"`
	Copied      int64         `json:"copied"`
	Linked      int64         `json:"linked"`
	Damaged     int64         `json:"damaged_copied,omitempty"` // of Copied: recorded damaged by verify, not linked
	Size        int64         `json:"size"`
	Written     int64         `json:"bytes_written"`
	Skipped     int64         `json:"skipped"`
	Warning     string        `json:"warning,omitempty"`      // the image may be inconsistent: a live source (block mode)
	ReusedIndex string        `json:"reused_index,omitempty"` // an unchanged image file: the index of this backup was copied, nothing read
	ReadBytes   int64         `json:"read_bytes,omitempty"`   // block mode: bytes read from the source
	ReadMode    string        `json:"read_mode,omitempty"`    // thin LV in block mode: "thin_delta" or "full"
	FullReason  string        `json:"full_read_reason,omitempty"`
	KeptBytes   int64         `json:"kept_snapshot_bytes,omitempty"` // pool space the kept thin snapshot held alone
	Duration    time.Duration `json:"-"`
	Seconds     float64       `json:"duration_seconds"`
	LastSuccess time.Time     `json:"last_success,omitempty"`
	Copy        *copyOutcome  `json:"copy,omitempty"` // what copy_to did with the new backup; nil without one
}

// copyOutcome is what run's copy_to did with a volume's new backup.
type copyOutcome struct {
	To      string  `json:"to"`
	OK      bool    `json:"ok"`
	Error   string  `json:"error,omitempty"`
	Skipped bool    `json:"skipped,omitempty"` // copy_to held it already
	Stored  int64   `json:"stored"`            // chunks or files the copy stored
	Written int64   `json:"bytes_written"`
	Seconds float64 `json:"duration_seconds"`
}

// fill copies a finished backup's counters into the result.
func (v *volumeResult) fill(info *repo.Info) {
	v.ID, v.Files, v.Copied, v.Linked = info.ID, info.Files, info.Copied, info.Linked
	v.Size, v.Written, v.Skipped, v.Damaged = info.Size, info.AddedBytes, info.Errors, info.DamagedCopied
	v.Warning, v.ReusedIndex = info.SourceWarning, info.ReusedIndex
	v.ReadBytes, v.ReadMode, v.FullReason, v.KeptBytes = info.ReadBytes, info.ReadMode, info.FullReadReason, info.KeptSnapshotBytes
}

// metric is one gauge family of the Prometheus text format.
type metric struct {
	name, help string
	value      func(v volumeResult) float64
	// copied says the gauge is of copy_to: only volumes whose backup the
	// run copied (or tried to) have it.
	copied bool
}

var metrics = []metric{
	{"lvback_backup_success", "1 if the last backup run of the volume succeeded, else 0.",
		func(v volumeResult) float64 { return b2f(v.OK) }, false},
	{"lvback_last_success_timestamp_seconds", "When the newest complete backup of the volume finished (Unix time; 0 if none).",
		func(v volumeResult) float64 { return unixOrZero(v.LastSuccess) }, false},
	{"lvback_backup_duration_seconds", "Wall time of the last backup run of the volume.",
		func(v volumeResult) float64 { return v.Duration.Seconds() }, false},
	{"lvback_backup_files", "Regular files in the last backup of the volume.",
		func(v volumeResult) float64 { return float64(v.Files) }, false},
	{"lvback_backup_size_bytes", "Logical size of the files in the last backup of the volume.",
		func(v volumeResult) float64 { return float64(v.Size) }, false},
	{"lvback_backup_written_bytes", "Bytes the last backup run wrote to the repository.",
		func(v volumeResult) float64 { return float64(v.Written) }, false},
	{"lvback_backup_read_bytes", "Bytes the last block-mode backup of the volume read from its source.",
		func(v volumeResult) float64 { return float64(v.ReadBytes) }, false},
	{"lvback_kept_snapshot_bytes", "Thin pool space the kept snapshot of the volume held alone until the last backup replaced it (thin_delta's changed bytes).",
		func(v volumeResult) float64 { return float64(v.KeptBytes) }, false},
	{"lvback_backup_errors", "Entries the last backup run skipped, plus 1 if it failed.",
		func(v volumeResult) float64 { return float64(v.Skipped) + 1 - b2f(v.OK) }, false},
	{"lvback_copy_success", "1 if the last run copied the volume's new backup to copy_to, else 0.",
		func(v volumeResult) float64 { return b2f(v.Copy.OK) }, true},
	{"lvback_copy_written_bytes", "Bytes the last run's copy of the volume's new backup wrote to copy_to.",
		func(v volumeResult) float64 { return float64(v.Copy.Written) }, true},
	{"lvback_copy_duration_seconds", "Wall time of the last run's copy of the volume's new backup to copy_to.",
		func(v volumeResult) float64 { return v.Copy.Seconds }, true},
}

// repoMetrics are the gauges of the repository's file system, labelled
// repository. They tell how the repository grows and when its disk fills
// (predict_linear in the Grafana dashboard): one statfs at the end of a
// run, where summing what each run wrote would miss what prune frees and
// a du of hard-linked trees would take minutes. A remote repository has
// none.
var repoMetrics = []struct{ name, help string }{
	{"lvback_repository_fs_used_bytes", "Bytes used on the file system holding the repository, at the end of the last run."},
	{"lvback_repository_fs_avail_bytes", "Bytes still available to lvback on the file system holding the repository, at the end of the last run."},
}

// writeMetrics writes the results in the Prometheus text format, atomically
// and durably (durable.WriteFile: node_exporter's textfile collector must
// never read half a file, nor find a stale one after a crash), with
// lvback_run_success saying whether the whole run (or backup command)
// succeeded: it is 0 also when no volume was tried (the repository was
// locked, the config invalid), and then the file has no per-volume gauges.
// The gauges of repoMetrics follow when repoPath is a local repository
// whose file system statfs can read.
func writeMetrics(path, repoPath string, runOK bool, results []volumeResult) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# HELP lvback_run_success 1 if the last run succeeded, else 0 (also when it backed up nothing: locked repository, invalid config).\n")
	fmt.Fprintf(&b, "# TYPE lvback_run_success gauge\nlvback_run_success %s\n", strconv.FormatFloat(b2f(runOK), 'g', -1, 64))
	if repoPath != "" && !repo.IsRemote(repoPath) {
		if used, avail, err := fsUsage(repoPath); err == nil {
			for i, v := range []uint64{used, avail} {
				m := repoMetrics[i]
				fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s{repository=%s} %d\n", m.name, m.help, m.name, m.name, labelValue(repoPath), v)
			}
		}
	}
	for _, m := range metrics {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", m.name, m.help, m.name)
		for _, v := range results {
			if m.copied && v.Copy == nil {
				continue
			}
			fmt.Fprintf(&b, "%s{volume=%s} %s\n", m.name, labelValue(v.Name), strconv.FormatFloat(m.value(v), 'g', -1, 64))
		}
	}
	if err := durable.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

func labelValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixOrZero(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
