package main

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		name string
		xs   []float64
		want Summary
	}{
		{"none", nil, Summary{}},
		{"one", []float64{2}, Summary{2, 2, 2}},
		{"odd count takes the middle", []float64{5, 1, 3}, Summary{3, 1, 5}},
		{"even count averages the middle two", []float64{4, 1, 2, 10}, Summary{3, 1, 10}},
		{"outlier does not move the median", []float64{1, 1.1, 60}, Summary{1.1, 1, 60}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := summarize(c.xs); got != c.want {
				t.Errorf("summarize(%v) = %+v, want %+v", c.xs, got, c.want)
			}
		})
	}
}

func TestSummarizeLeavesInputAlone(t *testing.T) {
	xs := []float64{3, 1, 2}
	summarize(xs)
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("summarize reordered its input: %v", xs)
	}
}

func TestMedianInt(t *testing.T) {
	for _, c := range []struct {
		name string
		ns   []int64
		want int64
	}{
		{"none", nil, -1},
		{"median", []int64{300, 100, 200}, 200},
		{"unmeasured wins", []int64{100, -1, 200}, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := medianInt(c.ns); got != c.want {
				t.Errorf("medianInt(%v) = %d, want %d", c.ns, got, c.want)
			}
		})
	}
}

func TestFinishComputesFiguresAndOrder(t *testing.T) {
	s := func(wall, cpu float64, rss, written int64) Sample {
		return Sample{Wall: time.Duration(wall * 1e9), CPU: time.Duration(cpu * 1e9), MaxRSS: rss, Written: written}
	}
	rows := []*Row{
		{Case: caseBlockFirst, Data: "img-random", Tool: toolDD, Input: 4e9, Samples: []Sample{s(1, 0.1, 5e6, -1), s(3, 0.1, 6e6, -1), s(2, 0.1, 4e6, -1)}},
		{Case: caseBlockFirst, Data: "img-random", Tool: toolLvback, Input: 4e9, Samples: []Sample{s(2, 1, 50e6, 10), s(2, 3, 250e6, 30), s(2, 2, 60e6, 20)}},
		{Case: caseFull, Data: "img-random", Tool: toolCp, Samples: []Sample{s(1, 1, 1, 1)}},
	}
	finish(rows, []Dataset{{Name: "img-random"}})
	if rows[0].Case != caseFull || rows[1].Tool != toolLvback || rows[2].Tool != toolDD {
		t.Fatalf("order %s/%s, %s/%s, %s/%s; want full first, then lvback before dd", rows[0].Case, rows[0].Tool, rows[1].Case, rows[1].Tool, rows[2].Case, rows[2].Tool)
	}
	lv, dd := rows[1], rows[2]
	if lv.Wall != (Summary{2, 2, 2}) || lv.CPU.Median != 2 || lv.MaxRSS != 250e6 || lv.Written != 20 {
		t.Errorf("lvback row %+v", lv)
	}
	if dd.Rate != 2000 || dd.Written != -1 {
		t.Errorf("dd rate %v written %d, want 2000 MB/s and -1", dd.Rate, dd.Written)
	}
	if lv.Met == nil || *lv.Met {
		t.Error("a 250 MB peak RSS must miss the 200 MB target")
	}
	if dd.Ratio != 1 || dd.Met == nil || !*dd.Met {
		t.Errorf("dd ratio %v met %v, want 1 and met (lvback at 100%% of dd)", dd.Ratio, dd.Met)
	}
}
