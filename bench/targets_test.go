package main

import "testing"

func TestEvaluate(t *testing.T) {
	row := func(cas, data, tool string, wall float64) *Row {
		return &Row{Case: cas, Data: data, Tool: tool, Wall: Summary{Median: wall}, MaxRSS: 1}
	}
	for _, c := range []struct {
		name      string
		cas, data string
		peer      string
		lvWall    float64
		peerWall  float64
		wantRatio float64
		wantMet   string // "met", "missed" or "" (no target)
	}{
		{"incremental 5x faster meets 4x", caseIncr, "synth", toolRsyncLink, 1, 5, 5, "met"},
		{"incremental 3x faster misses 4x", caseIncr, "synth", toolRsyncLink, 1, 3, 3, "missed"},
		{"no change exactly 4x meets", caseNoChange, "real", toolRsyncLink, 0.5, 2, 4, "met"},
		{"the +sync variant has the same target", caseIncr, "synth", toolRsyncLink + syncSuffix, 1, 3.9, 3.9, "missed"},
		{"full vs rsync needs 2x", caseFull, "synth", toolRsync, 10, 15, 1.5, "missed"},
		{"full within 1.2x of cp meets", caseFull, "synth", toolCp, 11, 10, 10.0 / 11, "met"},
		{"full 1.3x of cp misses", caseFull, "synth", toolCp, 13, 10, 10.0 / 13, "missed"},
		{"prune as fast as rm meets", casePrune, "synth", toolRm, 2, 2, 1, "met"},
		{"block first at 80% of the zstd bound meets 75%", caseBlockFirst, "img-text", toolZstd, 1.25, 1, 0.8, "met"},
		{"in memory too, 75% of the bound", caseBlockMem, "img-text", toolZstd, 1.25, 0.9, 0.72, "missed"},
		{"zstd bound has no target for random data", caseBlockFirst, "img-random", toolZstd, 1.25, 1, 0.8, ""},
		{"dd is the target for random data", caseBlockFirst, "img-random", toolDD, 1, 0.7, 0.7, "missed"},
		{"dd has no first-backup target for text", caseBlockFirst, "img-text", toolDD, 1, 0.7, 0.7, ""},
		{"block incremental at 90% of dd meets", caseBlockIncr, "img-text", toolDD, 1, 0.9, 0.9, "met"},
		{"block restore at 85% of cp meets", caseBlockRestore, "img-text", toolCpSparse, 1, 0.85, 0.85, "met"},
		{"block restore at 50% of cp+sync misses", caseBlockRestore, "img-random", toolCpSparse + syncSuffix, 2, 1, 0.5, "missed"},
		{"cp has no first-backup target", caseBlockFirst, "img-random", toolCpSparse + syncSuffix, 1, 0.9, 0.9, ""},
		{"verify has no target", caseVerify, "synth", toolRsyncCheck, 1, 2, 2, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			lv, peer := row(c.cas, c.data, toolLvback, c.lvWall), row(c.cas, c.data, c.peer, c.peerWall)
			other := row(c.cas, "other", toolLvback, 100) // another data set's lvback must not be used
			evaluate([]*Row{other, peer, lv})
			if d := peer.Ratio - c.wantRatio; d > 1e-9 || d < -1e-9 {
				t.Errorf("ratio %v, want %v", peer.Ratio, c.wantRatio)
			}
			got := ""
			if peer.Met != nil {
				got = map[bool]string{true: "met", false: "missed"}[*peer.Met]
			}
			if got != c.wantMet {
				t.Errorf("verdict %q (target %q), want %q", got, peer.Target, c.wantMet)
			}
		})
	}
}

func TestEvaluateWithoutLvbackRow(t *testing.T) {
	peer := &Row{Case: caseIncr, Data: "synth", Tool: toolRsyncLink, Wall: Summary{Median: 4}}
	evaluate([]*Row{peer})
	if peer.Ratio != 0 || peer.Met != nil {
		t.Errorf("a peer without an lvback row got ratio %v, met %v", peer.Ratio, peer.Met)
	}
}

func TestRSSTarget(t *testing.T) {
	for _, c := range []struct {
		rss  int64
		want bool
	}{{199e6, true}, {200e6, false}} {
		r := &Row{Case: caseFull, Data: "synth", Tool: toolLvback, MaxRSS: c.rss}
		evaluate([]*Row{r})
		if r.Met == nil || *r.Met != c.want {
			t.Errorf("RSS %d: met %v, want %v", c.rss, r.Met, c.want)
		}
	}
}

// In the s3 cases lvback-s3 is measured against lvback's local repository
// (at most 1.5× its time) and restic against lvback-s3 (slower than it).
func TestEvaluateS3(t *testing.T) {
	for _, c := range []struct {
		name                    string
		cas                     string
		local, s3, restic       float64
		wantS3Ratio, wantRestic float64
		wantS3Met, wantResMet   bool
	}{
		{"s3 1.4× local, restic 2× s3", caseS3First, 10, 14, 28, 1.4, 2, true, true},
		{"s3 exactly 1.5× local meets", caseS3Incr, 2, 3, 4, 1.5, 4.0 / 3, true, true},
		{"s3 1.6× local misses, restic slower than local but faster than s3", caseS3First, 10, 16, 12, 1.6, 0.75, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			row := func(tool string, wall float64) *Row {
				return &Row{Case: c.cas, Data: "img-text", Tool: tool, Wall: Summary{Median: wall}}
			}
			local, s3, restic := row(toolLvback, c.local), row(toolS3, c.s3), row(toolRestic, c.restic)
			other := &Row{Case: c.cas, Data: "img-random", Tool: toolS3, Wall: Summary{Median: 1000}}
			evaluate([]*Row{restic, other, s3, local})
			for _, r := range []struct {
				row   *Row
				ratio float64
				met   bool
			}{{s3, c.wantS3Ratio, c.wantS3Met}, {restic, c.wantRestic, c.wantResMet}} {
				if d := r.row.Ratio - r.ratio; d > 1e-9 || d < -1e-9 {
					t.Errorf("%s: ratio %v, want %v", r.row.Tool, r.row.Ratio, r.ratio)
				}
				if r.row.Met == nil || *r.row.Met != r.met || len(r.row.Checks) != 1 {
					t.Errorf("%s: checks %+v, want one, met %v", r.row.Tool, r.row.Checks, r.met)
				}
			}
			if local.Ratio != 0 || local.Met != nil {
				t.Errorf("lvback (local) got ratio %v, met %v; it is the reference", local.Ratio, local.Met)
			}
		})
	}
}
