package main

import (
	"errors"
	"testing"
)

func TestSplitRef(t *testing.T) {
	for _, c := range []struct {
		ref, vg, lv string
		ok          bool
	}{
		{"vg/lv", "vg", "lv", true},
		{"/dev/vg/lv", "vg", "lv", true},
		{"/dev/mapper/vg-lv", "vg", "lv", true},
		{"/dev/mapper/my--vg-my--lv-x", "my-vg", "my-lv-x", true},
		{"/dev/mapper/vg--only", "", "", false},
		{"vg", "", "", false},
		{"vg/", "", "", false},
		{"vg/a/b", "", "", false},
	} {
		vg, lv, ok := splitRef(c.ref)
		if vg != c.vg || lv != c.lv || ok != c.ok {
			t.Errorf("splitRef(%q) = %q, %q, %v; want %q, %q, %v", c.ref, vg, lv, ok, c.vg, c.lv, c.ok)
		}
	}
	if got := dmName("my-vg", "thin-pool"); got != "my--vg-thin--pool" {
		t.Errorf("dmName = %q", got)
	}
}

// exitCode is the exit status err carries, 0 for nil.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestParseDeltaArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want deltaArgs
		code int
	}{
		{[]string{"-m", "--snap1", "3", "--snap2", "5", "/dev/mapper/vg-pool_tmeta"}, deltaArgs{3, 5, true, "/dev/mapper/vg-pool_tmeta"}, 0},
		{[]string{"--thin1=3", "--thin2", "5", "d", "-m"}, deltaArgs{3, 5, true, "d"}, 0},
		{[]string{"--snap1", "3", "--snap2", "0", "d"}, deltaArgs{3, 0, false, "d"}, 0},
		{[]string{"--snap1", "3", "d"}, deltaArgs{}, 1},
		{[]string{"--snap1", "3", "--snap2", "5"}, deltaArgs{}, 1},
		{[]string{"--snap1", "x", "--snap2", "5", "d"}, deltaArgs{}, 1},
		{[]string{"--snap1", "1", "--snap2", "5", "d", "e"}, deltaArgs{}, 1},
		{[]string{"--verbose", "--snap1", "1", "--snap2", "5", "d"}, deltaArgs{}, 1},
		{[]string{"--snap1"}, deltaArgs{}, 1},
	} {
		a, err := parseDeltaArgs(c.args)
		if code := exitCode(err); code != c.code || (err == nil && *a != c.want) {
			t.Errorf("parseDeltaArgs(%q) = %+v, %v; want %+v, exit %d", c.args, a, err, c.want, c.code)
		}
	}
}

func TestParseChange(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
		ok   func(*change) bool
	}{
		{"activate -K", []string{"-ay", "-K", "vg/a"}, 0, func(c *change) bool { return c.activate == "y" && c.ignoreSkip }},
		{"deactivate", []string{"-a", "n", "vg/a"}, 0, func(c *change) bool { return c.activate == "n" }},
		{"activate=", []string{"--activate=y", "vg/a"}, 0, func(c *change) bool { return c.activate == "y" }},
		{"skip", []string{"-ky", "vg/a"}, 0, func(c *change) bool { return c.skip == "y" }},
		{"noskip", []string{"--setactivationskip", "n", "vg/a"}, 0, func(c *change) bool { return c.skip == "n" }},
		{"ro", []string{"-pr", "vg/a"}, 0, func(c *change) bool { return c.perm == "r" }},
		{"rw", []string{"--permission", "rw", "vg/a"}, 0, func(c *change) bool { return c.perm == "rw" }},
		{"tags", []string{"--addtag", "a", "--deltag", "b", "--addtag", "c", "vg/a", "vg/b"}, 0, func(c *change) bool {
			return len(c.addTags) == 2 && c.addTags[1] == "c" && len(c.delTags) == 1 && len(c.refs) == 2
		}},
		{"nothing to do", []string{"vg/a"}, 3, nil},
		{"no volume", []string{"-ay"}, 3, nil},
		{"bad activate", []string{"-a", "x", "vg/a"}, 3, nil},
		{"bad permission", []string{"-p", "w", "vg/a"}, 3, nil},
		{"bad tag", []string{"--addtag", "a b", "vg/a"}, 3, nil},
		{"missing value", []string{"vg/a", "--addtag"}, 3, nil},
		{"unknown", []string{"--foo", "vg/a"}, 3, nil},
	} {
		got, err := parseChange(c.args)
		if code := exitCode(err); code != c.code || (err == nil && !c.ok(got)) {
			t.Errorf("%s: parseChange(%q) = %+v, %v; want exit %d", c.name, c.args, got, err, c.code)
		}
	}
}

func TestUnitsSize(t *testing.T) {
	for _, c := range []struct {
		u    units
		n    int64
		want string
	}{
		{units{bytes: true, nosuffix: true}, 1 << 30, "1073741824"},
		{units{bytes: true}, 4096, "4096B"},
		{units{}, 64 << 20, "64.00m"},
		{units{}, 3 << 39, "1.50t"},
		{units{nosuffix: true}, 1 << 30, "1.00"},
	} {
		if got := c.u.size(c.n); got != c.want {
			t.Errorf("%+v.size(%d) = %q, want %q", c.u, c.n, got, c.want)
		}
	}
}

func TestLVName(t *testing.T) {
	for name, want := range map[string]bool{
		"data-lvback-kept-20261127T120000": true, "a_b.c+d": true,
		"-x": false, "a/b": false, "": false, "pool_tmeta": false, "snapshot0": false, "..": false,
	} {
		if got := lvNameRE.MatchString(name) && !reservedName(name); got != want {
			t.Errorf("valid(%q) = %v, want %v", name, got, want)
		}
	}
}
