package main

import (
	"fmt"
	"strings"
)

// Tool labels of the table; the legend gives each one's exact command.
const (
	toolLvback     = "lvback"
	toolSubvol     = "lvback-subvol"   // -fs btrfs: init --layout subvolume
	toolHardlink   = "lvback-hardlink" // -fs btrfs: init --layout hardlink
	toolRsync      = "rsync -aHX"
	toolCp         = "cp -a"
	toolRsyncLink  = "rsync --link-dest"
	toolRsyncCheck = "rsync -anc"
	toolRm         = "rm -rf"
	toolDD         = "dd iflag=direct"
	toolZstd       = "zstd bound"
	toolCpSparse   = "cp --sparse=always"
	toolS3         = "lvback-s3" // the s3 cases: lvback with an s3: repository
	toolRestic     = "restic"    // the s3 cases: restic 0.18 with an s3: repository
	// syncSuffix marks a peer's run followed by `sync -f`, timed together.
	syncSuffix = " +sync"
	// cleanerSuffix marks a subvolume prune followed by `btrfs subvolume
	// sync` (the wait for the cleaner to free the deleted subvolume).
	cleanerSuffix = " +cleaner"
)

// isLvback reports whether a tool name is lvback's (any layout).
func isLvback(tool string) bool {
	switch strings.TrimSuffix(tool, cleanerSuffix) {
	case toolLvback, toolSubvol, toolHardlink, toolS3:
		return true
	}
	return false
}

// isRef reports whether a tool's rows are the ones the other tools of a
// case are compared with: lvback, or lvback-subvol in a -fs btrfs run.
// (In the s3 cases restic is compared with lvback-s3 instead: refTool.)
func isRef(tool string) bool { return tool == toolLvback || tool == toolSubvol }

// refTool returns the tool a row of tool in case cas is compared with
// when that is not the case's reference row (isRef): in the s3 cases,
// restic is compared with lvback-s3 (issue: "faster than restic"), while
// lvback-s3 is compared with lvback's local repository as every peer is.
// "" means the reference row.
func refTool(cas, tool string) string {
	if (cas == caseS3First || cas == caseS3Incr) && tool == toolRestic {
		return toolS3
	}
	return ""
}

// Issue 16's targets for the subvolume layout (-fs btrfs) that are no
// ratio: set for a tree of at least issue16Files files in issue16Dirs
// directories.
const (
	issue16Files     = 100_000
	issue16Dirs      = 8_000
	issue16Written   = 1e6 // a no-change run writes less than this plus its manifest
	issue16PruneSecs = 0.5 // prune of one backup of the tree
)

// Case names.
const (
	caseFull         = "full"
	caseIncr         = "incremental"
	caseNoChange     = "no change"
	caseVerify       = "verify"
	casePrune        = "prune"
	caseBlockFirst   = "block first"
	caseBlockMem     = "block first, memory"
	caseBlockIncr    = "block 1% changed"
	caseBlockRestore = "block restore"
	caseS3First      = "s3 first"
	caseS3Incr       = "s3 1% changed"
)

// target is what issues 4, 6 and 16 and the s3 issue ask of lvback
// against one peer in one case: the peer's median wall time divided by
// the reference tool's must be at least min, or, when max is set, at
// most max.
type target struct {
	cas, peer string
	ref       string // toolLvback (issues 4, 6, s3), toolSubvol (issue 16, -fs btrfs) or toolS3 (s3 vs restic)
	data      string // "" for every data set
	min       float64
	text      string
	max       float64
}

var targets = []target{
	{cas: caseFull, peer: toolRsync, ref: toolLvback, min: 2, text: "lvback ≥2× faster"},
	{cas: caseFull, peer: toolCp, ref: toolLvback, min: 1 / 1.2, text: "lvback ≤1.2× cp"},
	{cas: caseIncr, peer: toolRsyncLink, ref: toolLvback, min: 4, text: "lvback ≥4× faster"},
	{cas: caseNoChange, peer: toolRsyncLink, ref: toolLvback, min: 4, text: "lvback ≥4× faster"},
	{cas: casePrune, peer: toolRm, ref: toolLvback, min: 1, text: "lvback no slower"},
	{cas: caseBlockFirst, peer: toolZstd, ref: toolLvback, data: "img-text", min: 0.75, text: "lvback ≥75% of bound"},
	{cas: caseBlockMem, peer: toolZstd, ref: toolLvback, data: "img-text", min: 0.75, text: "lvback ≥75% of bound"},
	{cas: caseBlockFirst, peer: toolDD, ref: toolLvback, data: "img-random", min: 0.8, text: "lvback ≥80% of dd"},
	{cas: caseBlockIncr, peer: toolDD, ref: toolLvback, min: 0.8, text: "lvback ≥80% of dd"},
	{cas: caseBlockRestore, peer: toolCpSparse, ref: toolLvback, min: 0.8, text: "lvback ≥80% of cp"},
	{cas: caseIncr, peer: toolRsyncLink, ref: toolSubvol, min: 8, text: "subvol ≥8× faster"},
	{cas: caseIncr, peer: toolHardlink, ref: toolSubvol, min: 3, text: "subvol ≥3× faster"},
	{cas: caseNoChange, peer: toolRsyncLink, ref: toolSubvol, min: 8, text: "subvol ≥8× faster"},
	{cas: caseNoChange, peer: toolHardlink, ref: toolSubvol, min: 3, text: "subvol ≥3× faster"},
	// The s3 issue: lvback-s3's row is lvback-s3/lvback (local), restic's
	// restic/lvback-s3.
	{cas: caseS3First, peer: toolS3, ref: toolLvback, max: 1.5, text: "s3 ≤1.5× local"},
	{cas: caseS3Incr, peer: toolS3, ref: toolLvback, max: 1.5, text: "s3 ≤1.5× local"},
	{cas: caseS3First, peer: toolRestic, ref: toolS3, min: 1, text: "lvback-s3 faster"},
	{cas: caseS3Incr, peer: toolRestic, ref: toolS3, min: 1, text: "lvback-s3 faster"},
}

// evaluate fills each row's ratio against the reference row (lvback's, or
// lvback-subvol's in a -fs btrfs run; restic's against lvback-s3's, see
// refTool) of the same case and data set, and
// the targets and verdicts the issues set. Every lvback row gets the peak
// RSS target; lvback-subvol's rows get issue 16's other targets.
func evaluate(rows []*Row) {
	ref := map[[2]string]*Row{}
	hardlink := map[[2]string]*Row{}
	byTool := map[[3]string]*Row{}
	for _, r := range rows {
		k := [2]string{r.Case, r.Data}
		byTool[[3]string{r.Case, r.Data, r.Tool}] = r
		if isRef(r.Tool) {
			ref[k] = r
		}
		if r.Tool == toolHardlink {
			hardlink[k] = r
		}
	}
	for _, r := range rows {
		k := [2]string{r.Case, r.Data}
		if isLvback(r.Tool) && r.MaxRSS > 0 {
			r.check(fmt.Sprintf("peak RSS < %.0f MB", rssLimit/1e6), float64(r.MaxRSS) < rssLimit)
		}
		if r.Tool == toolSubvol {
			subvolTargets(r, hardlink[k])
		}
		l := ref[k]
		if t := refTool(r.Case, r.Tool); t != "" {
			l = byTool[[3]string{r.Case, r.Data, t}]
		}
		if isRef(r.Tool) || r.Tool == toolSubvol+cleanerSuffix || l == nil || l.Wall.Median <= 0 || r.Wall.Median <= 0 {
			continue
		}
		r.Ratio = r.Wall.Median / l.Wall.Median
		peer := strings.TrimSuffix(r.Tool, syncSuffix)
		for _, t := range targets {
			if t.cas != r.Case || t.peer != peer || t.ref != l.Tool || (t.data != "" && t.data != r.Data) {
				continue
			}
			if t.max > 0 {
				r.check(fmt.Sprintf("%s (≤%.2f)", t.text, t.max), r.Ratio <= t.max)
			} else {
				r.check(fmt.Sprintf("%s (≥%.2f)", t.text, t.min), r.Ratio >= t.min)
			}
		}
	}
}

// subvolTargets checks issue 16's targets that are not ratios on a row of
// lvback-subvol: the hardlink layout's row h of the same case may be nil.
func subvolTargets(r, h *Row) {
	if h != nil && r.MaxRSS > 0 && h.MaxRSS > 0 {
		// "Unchanged": within the 10% one run's maxrss varies by (GC timing).
		r.check(fmt.Sprintf("RSS ≤ hardlink's %.0f MB +10%%", float64(h.MaxRSS)/1e6), float64(r.MaxRSS) <= 1.1*float64(h.MaxRSS))
	}
	switch r.Case {
	case caseNoChange:
		if r.DevWritten >= 0 {
			limit := issue16Written + float64(r.Manifest)
			r.check(fmt.Sprintf("dev written < 1 MB + manifest %s", human(r.Manifest)), float64(r.DevWritten) < limit)
		}
	case casePrune:
		r.check(fmt.Sprintf("< %.1f s", issue16PruneSecs), r.Wall.Median < issue16PruneSecs)
	}
}

// check adds a target and its verdict to the row. Target and Met sum them
// up: every target's text, and whether all were met.
func (r *Row) check(text string, met bool) {
	r.Checks = append(r.Checks, Check{Target: text, Met: met})
	texts := make([]string, len(r.Checks))
	all := true
	for i, c := range r.Checks {
		texts[i], all = c.Target, all && c.Met
	}
	r.Target, r.Met = strings.Join(texts, "; "), ptr(all)
}

func ptr[T any](v T) *T { return &v }
