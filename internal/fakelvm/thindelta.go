package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// thinDeltaUsage is thin_delta's usage text (thin-provisioning-tools
// 0.9.0), printed after a usage error.
const thinDeltaUsage = `Usage: thin_delta [options] <device or file>
Options:
  {--thin1, --snap1}
  {--thin2, --snap2}
  {-m, --metadata-snap} [block#]
  {--verbose}
  {-h|--help}
  {-V|--version}`

// deltaArgs are thin_delta's arguments.
type deltaArgs struct {
	snap1, snap2 int
	metadataSnap bool // -m
	dev          string
}

// thinDelta implements `thin_delta [-m] --snap1 A --snap2 B
// /dev/mapper/VG-POOL_tmeta` (--thin1/--thin2 too) as
// thin-provisioning-tools 0.9.0 prints it: the blocks in which the thin
// volumes A and B of the pool differ, from their images (see diffBlocks).
// With -m it needs the pool's reserved metadata snapshot and knows only the
// thin ids and transaction of that snapshot. Failures exit 1.
func (f *fake) thinDelta(args []string) error {
	a, err := parseDeltaArgs(args)
	if err != nil {
		return err
	}
	if f.fault(state.FailThinDeltaOnce, true) {
		return failed1("fakelvm: thin_delta fails once (%s)", state.FailThinDeltaOnce)
	}
	pool := f.poolByDM(strings.TrimPrefix(a.dev, "/dev/mapper/"), "_tmeta")
	if !strings.HasPrefix(a.dev, "/dev/mapper/") || pool == nil {
		return failed1("Couldn't stat path: %s: No such file or directory", a.dev)
	}
	meta := pool.Meta
	transaction, tm, ids := meta.Transaction, meta.Time, f.st.ThinIDs(pool)
	if a.metadataSnap {
		if meta.Reserved == nil {
			return failed1("no current metadata snap")
		}
		transaction, tm, ids = meta.Reserved.Transaction, meta.Reserved.Time, meta.Reserved.ThinIDs
	}
	var images [2]string
	for i, id := range []int{a.snap1, a.snap2} {
		lv := f.st.ByThinID(pool, id)
		if !slices.Contains(ids, id) || lv == nil || lv.Image == "" {
			return failed1("Unable to find mapping tree for snap%d (%d)", i+1, id)
		}
		images[i] = lv.Image
	}
	sectors := meta.BlockSectors()
	runs, err := diffImages(images[0], images[1], int64(sectors)*512)
	if err != nil {
		return failed1("thin_delta: %v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<superblock uuid=\"\" time=\"%d\" transaction=\"%d\" data_block_size=\"%d\" nr_data_blocks=\"0\">\n",
		tm, transaction, sectors)
	fmt.Fprintf(&b, "  <diff left=\"%d\" right=\"%d\">\n", a.snap1, a.snap2)
	for _, r := range runs {
		fmt.Fprintf(&b, "    <%s begin=\"%d\" length=\"%d\"/>\n", r.kind, r.begin, r.length)
	}
	b.WriteString("  </diff>\n</superblock>\n")
	fmt.Print(b.String())
	return nil
}

// parseDeltaArgs parses thin_delta's arguments; -m may come anywhere.
func parseDeltaArgs(args []string) (*deltaArgs, error) {
	a := &deltaArgs{snap1: -1, snap2: -1}
	bad := func(format string, v ...any) error {
		return failed1("%s\n%s", fmt.Sprintf(format, v...), thinDeltaUsage)
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		flag, val, hasVal := strings.Cut(arg, "=")
		switch {
		case arg == "-m" || flag == "--metadata-snap" || strings.HasPrefix(arg, "-m") && isDigits(arg[2:]):
			a.metadataSnap = true
		case flag == "--snap1" || flag == "--thin1" || flag == "--snap2" || flag == "--thin2":
			if !hasVal {
				if i+1 >= len(args) {
					return nil, bad("%s needs an argument", flag)
				}
				i++
				val = args[i]
			}
			id, err := strconv.ParseUint(val, 10, 24)
			if err != nil {
				return nil, bad("Couldn't parse %s: %q", flag, val)
			}
			if strings.HasSuffix(flag, "1") {
				a.snap1 = int(id)
			} else {
				a.snap2 = int(id)
			}
		case strings.HasPrefix(arg, "-"):
			return nil, bad("thin_delta: fakelvm does not take %s", arg)
		case a.dev != "":
			return nil, bad("thin_delta: more than one device: %s %s", a.dev, arg)
		default:
			a.dev = arg
		}
	}
	switch {
	case a.dev == "":
		return nil, bad("No input device provided.")
	case a.snap1 < 0:
		return nil, bad("--snap1 not specified.")
	case a.snap2 < 0:
		return nil, bad("--snap2 not specified.")
	}
	return a, nil
}

// isDigits reports whether s is a non-empty string of decimal digits.
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
