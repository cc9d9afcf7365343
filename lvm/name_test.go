package lvm

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSnapshotName(t *testing.T) {
	at := time.Date(2026, 11, 25, 4, 15, 0, 0, time.FixedZone("CET", 3600))
	if got := SnapshotName("data", at); got != "data-lvback-20261125T031500" {
		t.Errorf("snapshotName = %q", got)
	}
	for name, want := range map[string]bool{
		"data-lvback-20261125T031500":       true,
		"my-lv_2.x+-lvback-20261125T031500": true,
		"vg-data-lvback-20261125T031500":    true, // a mount directory
		"data-lvback-20261125T0315":         false,
		"data-lvback-20261125T031500x":      false,
		"-lvback-20261125T031500":           false,
		"data-lvback-2026112xT031500":       false,
		"data_lvback_20261125T031500":       false,
		"a/b-lvback-20261125T031500":        false,
		"data":                              false,
	} {
		if got := isSnapshotName(name); got != want {
			t.Errorf("isSnapshotName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSizeArgs(t *testing.T) {
	for size, want := range map[string]string{
		"2G": "-L 2G", "512m": "-L 512m", "1.5T": "-L 1.5T",
		"20%ORIGIN": "-l 20%ORIGIN", "100%FREE": "-l 100%FREE",
		"2": "", "20%": "", "20%origin": "", "-L": "", "2G ": "", "1G;rm": "", "": "",
	} {
		args, err := sizeArgs(size)
		if got := strings.Join(args, " "); got != want || (err != nil) != (want == "") {
			t.Errorf("sizeArgs(%q) = %q, %v; want %q", size, got, err, want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	got := commandLine("lvcreate", []string{"-s", "-n", "a b", ""})
	if want := `lvcreate -s -n "a b" ""`; got != want {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
	if got := trimStderr([]byte("  WARNING: x\n\n  Volume group \"vg\" has insufficient free space\n")); got != `WARNING: x; Volume group "vg" has insufficient free space` {
		t.Errorf("trimStderr = %q", got)
	}
	if got := trimStderr([]byte(strings.Repeat("x", 3*maxStderr))); len(got) != maxStderr+3 {
		t.Errorf("trimStderr kept %d bytes", len(got))
	}
	if !slices.Equal(strings.Split(baseMountOptions, ","), []string{"ro", "nosuid", "nodev", "noexec"}) {
		t.Errorf("baseMountOptions = %q", baseMountOptions)
	}
}

func TestSplitLV(t *testing.T) {
	for in, want := range map[string][2]string{
		"/dev/vg/thin":              {"vg", "thin"},
		"vg/thin":                   {"vg", "thin"},
		"/dev/mapper/vg-thin":       {"vg", "thin"},
		"/dev/mapper/my--vg-db--01": {"my-vg", "db-01"},
		"/dev/mapper/vg":            {"", ""},
		"/dev/vg":                   {"", ""},
		"/dev/vg/a/b":               {"", ""},
		"":                          {"", ""},
	} {
		vg, lv, ok := SplitLV(in)
		if vg != want[0] || lv != want[1] || ok != (want[0] != "") {
			t.Errorf("SplitLV(%q) = %q, %q, %v; want %q, %q", in, vg, lv, ok, want[0], want[1])
		}
	}
}
