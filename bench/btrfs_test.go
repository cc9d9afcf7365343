package main

import (
	"strings"
	"testing"
)

// Tests of the -fs btrfs run (issue 16) that need neither root nor btrfs.

func TestParseFlagsFS(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.fs != fsExt4 || o.btrfs() {
		t.Fatalf("default -fs: %q, %v (want ext4)", o.fs, err)
	}
	if o, err = parseFlags([]string{"-fs", "btrfs"}); err != nil || !o.btrfs() {
		t.Fatalf("-fs btrfs: %q, %v", o.fs, err)
	}
	if _, err := parseFlags([]string{"-fs", "xfs"}); err == nil {
		t.Error("-fs xfs was accepted")
	}
}

func TestLvRepos(t *testing.T) {
	ext4 := lvRepos(options{fs: fsExt4}, "/w")
	if len(ext4) != 1 || ext4[0].tool != toolLvback || ext4[0].layout != "" {
		t.Errorf("ext4: %+v, want one lvback repository of the default layout", ext4)
	}
	b := lvRepos(options{fs: fsBtrfs}, "/w")
	if len(b) != 2 || b[0].tool != toolSubvol || b[0].layout != "subvolume" || b[1].tool != toolHardlink || b[1].layout != "hardlink" || b[0].repo == b[1].repo {
		t.Errorf("btrfs: %+v, want a subvolume and a hardlink repository", b)
	}
}

func TestSectorsWritten(t *testing.T) {
	// /sys/block/loopN/stat: reads, merges, sectors, ticks, writes, merges, sectors, ...
	got, err := sectorsWritten("    1543        0   123456     371     8800     1200   409600    9000        0    2100    9371 0 0 0 0 0 0\n")
	if err != nil || got != 409600*512 {
		t.Errorf("sectorsWritten = %d, %v; want %d", got, err, 409600*512)
	}
	if _, err := sectorsWritten("1 2 3"); err == nil {
		t.Error("a short stat line was accepted")
	}
}

func TestEvaluateSubvol(t *testing.T) {
	row := func(cas, tool string, wall float64, rss, dev int64) *Row {
		return &Row{Case: cas, Data: "synth", Tool: tool, Wall: Summary{Median: wall}, MaxRSS: rss, DevWritten: dev}
	}
	sv := row(caseNoChange, toolSubvol, 1, 50e6, 1_400_000)
	sv.Manifest = 500_000
	hl := row(caseNoChange, toolHardlink, 2.5, 60e6, 9e6)
	rs := row(caseNoChange, toolRsyncLink, 9, 7e6, 8e6)
	psv := row(casePrune, toolSubvol, 0.4, 70e6, 1e6)
	phl := row(casePrune, toolHardlink, 1, 60e6, 1e6)
	pcl := row(casePrune, toolSubvol+cleanerSuffix, 3, 70e6, 1e6)
	evaluate([]*Row{rs, hl, sv, phl, psv, pcl})

	if hl.Ratio != 2.5 || rs.Ratio != 9 {
		t.Errorf("ratios hardlink %v, rsync %v; want 2.5 and 9 (over lvback-subvol)", hl.Ratio, rs.Ratio)
	}
	verdicts := func(r *Row) string {
		var v []string
		for _, c := range r.Checks {
			v = append(v, map[bool]string{true: "+", false: "-"}[c.Met]+c.Target)
		}
		return strings.Join(v, "|")
	}
	for _, c := range []struct {
		r    *Row
		want string
	}{
		{sv, "+peak RSS < 200 MB|+RSS ≤ hardlink's 60 MB +10%|+dev written < 1 MB + manifest 500 kB"},
		{hl, "+peak RSS < 200 MB|-subvol ≥3× faster (≥3.00)"},
		{rs, "+subvol ≥8× faster (≥8.00)"},
		{psv, "+peak RSS < 200 MB|-RSS ≤ hardlink's 60 MB +10%|+< 0.5 s"},
		{pcl, "+peak RSS < 200 MB"},
	} {
		if got := verdicts(c.r); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.r.Case, c.r.Tool, got, c.want)
		}
	}
	if hl.Met == nil || *hl.Met || sv.Met == nil || !*sv.Met {
		t.Errorf("Met sums the checks up: hardlink %v (want false), subvol %v (want true)", hl.Met, sv.Met)
	}
	if pcl.Ratio != 0 {
		t.Errorf("the +cleaner row got a ratio over its own tool: %v", pcl.Ratio)
	}

	// Written past 1 MB + manifest misses; an ext4 run's lvback row gets no issue 16 target.
	sv2 := row(caseNoChange, toolSubvol, 1, 1, 1_600_000)
	sv2.Manifest = 500_000
	lv := row(caseNoChange, toolLvback, 1, 1, 9e6)
	evaluate([]*Row{sv2, lv})
	if sv2.Met == nil || *sv2.Met {
		t.Errorf("1.6 MB written with a 500 kB manifest met the target: %q", sv2.Target)
	}
	if lv.Target != "peak RSS < 200 MB" {
		t.Errorf("lvback (ext4) target %q", lv.Target)
	}
}

func TestIssue16Size(t *testing.T) {
	big := Dataset{Name: "synth", Files: 100_000, Dirs: 8_000}
	if n := issue16Size(options{fs: fsBtrfs}, big); n != "" {
		t.Errorf("a big enough tree got a note: %s", n)
	}
	if n := issue16Size(options{fs: fsBtrfs}, Dataset{Name: "synth", Files: 100_000, Dirs: 2_000}); n == "" {
		t.Error("2,000 dirs got no note")
	}
	if n := issue16Size(options{fs: fsExt4}, Dataset{Files: 10}); n != "" {
		t.Errorf("an ext4 run got a note: %s", n)
	}
}
