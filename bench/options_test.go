package main

import (
	"path/filepath"
	"testing"
)

func TestParseFlagsCases(t *testing.T) {
	o, err := parseFlags([]string{"-cases", "incr,block", "-files", "10"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{caseIncr, caseBlockFirst, caseBlockIncr, caseBlockRestore} {
		if !o.cases[c] {
			t.Errorf("case %q not selected", c)
		}
	}
	if o.cases[caseFull] || o.cases[casePrune] {
		t.Error("unselected cases selected")
	}
	if got := lastFileCase(o); got != caseNoChange {
		t.Errorf("lastFileCase = %q, want %q (incremental runs on to no change)", got, caseNoChange)
	}
	if _, err := parseFlags([]string{"-cases", "full,bogus"}); err == nil {
		t.Error("an unknown case was accepted")
	}
	if _, err := parseFlags([]string{"-min-kib", "8", "-max-kib", "4"}); err == nil {
		t.Error("min above max was accepted")
	}
}

// The s3 cases run only when asked for: they need weed and restic.
func TestParseFlagsS3Cases(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.s3Cases() || !o.blockCases() || !o.fileCases() {
		t.Errorf("default cases: s3 %v, block %v, file %v; want every case but the s3 ones", o.s3Cases(), o.blockCases(), o.fileCases())
	}
	o, err = parseFlags([]string{"-cases", "s3first,s3incr"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.cases[caseS3First] || !o.cases[caseS3Incr] || o.blockCases() || o.fileCases() {
		t.Errorf("-cases s3first,s3incr selected %v", o.cases)
	}
}

func TestResultPathDoesNotOverwrite(t *testing.T) {
	dir := t.TempDir()
	p := resultPath(dir, "2026-11-25", "vm")
	if p != filepath.Join(dir, "2026-11-25-vm.json") {
		t.Fatalf("first path %s", p)
	}
	if err := writeJSON(p, &Report{}); err != nil {
		t.Fatal(err)
	}
	if q := resultPath(dir, "2026-11-25", "vm"); q != filepath.Join(dir, "2026-11-25-vm-2.json") {
		t.Errorf("second path %s, want the -2 suffix", q)
	}
}

func TestHuman(t *testing.T) {
	for n, want := range map[int64]string{-1: "-", 0: "0 kB", 4096: "4 kB", 1_500_000: "1.5 MB", 2_340_000_000: "2.34 GB"} {
		if got := human(n); got != want {
			t.Errorf("human(%d) = %q, want %q", n, got, want)
		}
	}
}
