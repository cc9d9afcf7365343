package main

import (
	"fmt"
	"strings"
)

// Tool labels of the table; the legend gives each one's exact command.
const (
	toolLvback     = "lvback"
	toolRsync      = "rsync -aHX"
	toolCp         = "cp -a"
	toolRsyncLink  = "rsync --link-dest"
	toolRsyncCheck = "rsync -anc"
	toolRm         = "rm -rf"
	toolDD         = "dd iflag=direct"
	toolZstd       = "zstd bound"
	toolCpSparse   = "cp --sparse=always"
	// syncSuffix marks a peer's run followed by `sync -f`, timed together.
	syncSuffix = " +sync"
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
)

// target is what issues 4 and 6 ask of lvback against one peer in one case: the
// peer's median wall time divided by lvback's must be at least min.
type target struct {
	cas, peer string
	data      string // "" for every data set
	min       float64
	text      string
}

var targets = []target{
	{caseFull, toolRsync, "", 2, "lvback ≥2× faster"},
	{caseFull, toolCp, "", 1 / 1.2, "lvback ≤1.2× cp"},
	{caseIncr, toolRsyncLink, "", 4, "lvback ≥4× faster"},
	{caseNoChange, toolRsyncLink, "", 4, "lvback ≥4× faster"},
	{casePrune, toolRm, "", 1, "lvback no slower"},
	{caseBlockFirst, toolZstd, "img-text", 0.75, "lvback ≥75% of bound"},
	{caseBlockMem, toolZstd, "img-text", 0.75, "lvback ≥75% of bound"},
	{caseBlockFirst, toolDD, "img-random", 0.8, "lvback ≥80% of dd"},
	{caseBlockIncr, toolDD, "", 0.8, "lvback ≥80% of dd"},
	{caseBlockRestore, toolCpSparse, "", 0.8, "lvback ≥80% of cp"},
}

// evaluate fills each row's ratio against lvback's row of the same case
// and data set, and the target and verdict where an issue sets one. lvback's
// own rows get the peak RSS target.
func evaluate(rows []*Row) {
	lv := map[[2]string]*Row{}
	for _, r := range rows {
		if r.Tool == toolLvback {
			lv[[2]string{r.Case, r.Data}] = r
		}
	}
	for _, r := range rows {
		if r.Tool == toolLvback {
			if r.MaxRSS > 0 {
				r.Target = fmt.Sprintf("peak RSS < %.0f MB", rssLimit/1e6)
				r.Met = ptr(float64(r.MaxRSS) < rssLimit)
			}
			continue
		}
		l := lv[[2]string{r.Case, r.Data}]
		if l == nil || l.Wall.Median <= 0 || r.Wall.Median <= 0 {
			continue
		}
		r.Ratio = r.Wall.Median / l.Wall.Median
		peer := strings.TrimSuffix(r.Tool, syncSuffix)
		for _, t := range targets {
			if t.cas == r.Case && t.peer == peer && (t.data == "" || t.data == r.Data) {
				r.Target = fmt.Sprintf("%s (≥%.2f)", t.text, t.min)
				r.Met = ptr(r.Ratio >= t.min)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
