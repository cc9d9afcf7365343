package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// lvs implements `lvs --reportformat json [--units b|h] [--nosuffix] -o
// FIELDS [NAME...]`, printing the report as LVM 2.03 does. A NAME is a VG,
// VG/LV, /dev/VG/LV or /dev/mapper/VG-LV; without one every volume is
// listed.
func (f *fake) lvs(args []string) error {
	var fields, names []string
	format := ""
	var units units
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--units":
			v, err := flagValue(args, &i)
			if err != nil {
				return err
			}
			if v != "b" && v != "B" && v != "h" {
				return usage("lvs: fakelvm only takes --units b or h, not %s", v)
			}
			units.bytes = v != "h"
		case "--nosuffix":
			units.nosuffix = true
		case "--reportformat":
			v, err := flagValue(args, &i)
			if err != nil {
				return err
			}
			format = v
		case "-o", "--options":
			v, err := flagValue(args, &i)
			if err != nil {
				return err
			}
			fields = append(fields, strings.Split(v, ",")...)
		default:
			if strings.HasPrefix(a, "-") {
				return usage("lvs: fakelvm does not know option %s", a)
			}
			names = append(names, a)
		}
	}
	if format != "json" {
		return usage("lvs: fakelvm only prints --reportformat json")
	}
	if len(fields) == 0 {
		return usage("lvs: fakelvm needs -o")
	}
	lvs, err := f.selectLVs(names)
	if err != nil {
		return err
	}
	rows := make([]string, 0, len(lvs))
	for _, lv := range lvs {
		row, err := f.row(lv, fields, units)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	fmt.Printf("  {\n      \"report\": [\n          {\n              \"lv\": [\n")
	for i, r := range rows {
		sep := ","
		if i == len(rows)-1 {
			sep = ""
		}
		fmt.Printf("                  %s%s\n", r, sep)
	}
	fmt.Printf("              ]\n          }\n      ]\n  }\n")
	return nil
}

// selectLVs returns the volumes names match, in state order.
func (f *fake) selectLVs(names []string) ([]*state.LV, error) {
	if len(names) == 0 {
		out := make([]*state.LV, len(f.st.LVs))
		for i := range f.st.LVs {
			out[i] = &f.st.LVs[i]
		}
		return out, nil
	}
	picked := make([]bool, len(f.st.LVs))
	for _, n := range names {
		found := false
		for i := range f.st.LVs {
			if matches(&f.st.LVs[i], n) {
				picked[i], found = true, true
			}
		}
		if !found {
			return nil, failed("Failed to find logical volume %q", n)
		}
	}
	var out []*state.LV
	for i := range f.st.LVs {
		if picked[i] {
			out = append(out, &f.st.LVs[i])
		}
	}
	return out, nil
}

// matches reports whether the lvs argument n names lv.
func matches(lv *state.LV, n string) bool {
	return n == lv.VG || n == lv.VG+"/"+lv.Name || n == "/dev/"+lv.VG+"/"+lv.Name ||
		n == "/dev/mapper/"+dmName(lv.VG, lv.Name)
}

// units is how lvs prints sizes.
type units struct {
	bytes    bool // --units b: in bytes, else LVM's default, human (--units h)
	nosuffix bool // --nosuffix: no unit letter
}

// size is n bytes as lvs prints them with u.
func (u units) size(n int64) string {
	suffix := func(s string) string {
		if u.nosuffix {
			return ""
		}
		return s
	}
	if u.bytes {
		return strconv.FormatInt(n, 10) + suffix("B")
	}
	v, unit := float64(n)/1024, "k"
	for _, next := range []string{"m", "g", "t", "p"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, next
	}
	if n == 0 {
		return "0" + suffix(" ")
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + suffix(unit)
}

// row is one volume's JSON object with fields in the order asked.
func (f *fake) row(lv *state.LV, fields []string, u units) (string, error) {
	parts := make([]string, 0, len(fields))
	for _, name := range fields {
		v, err := f.field(lv, name, u)
		if err != nil {
			return "", err
		}
		k, _ := json.Marshal(name)
		s, _ := json.Marshal(v)
		parts = append(parts, string(k)+":"+string(s))
	}
	return "{" + strings.Join(parts, ", ") + "}", nil
}

// field is the value lvs prints for one field of lv.
func (f *fake) field(lv *state.LV, name string, u units) (string, error) {
	classicSnap := lv.Origin != "" && lv.Segtype != "thin"
	switch name {
	case "lv_uuid":
		return lv.UUID, nil
	case "lv_time":
		return lv.Created, nil
	case "lv_size":
		n, err := lvSize(lv)
		return u.size(n), err
	case "thin_id":
		if lv.Segtype == "thin" && lv.ThinID > 0 {
			return strconv.Itoa(lv.ThinID), nil
		}
		return "", nil
	case "transaction_id":
		if lv.Meta != nil {
			return strconv.Itoa(lv.Meta.Transaction), nil
		}
		return "", nil
	case "vg_name":
		return lv.VG, nil
	case "lv_name":
		return lv.Name, nil
	case "lv_attr":
		return lv.Attr, nil
	case "segtype":
		return lv.Segtype, nil
	case "pool_lv":
		return lv.Pool, nil
	case "origin":
		return lv.Origin, nil
	case "lv_tags":
		return strings.Join(lv.Tags, ","), nil
	case "lv_path":
		switch {
		case lv.Loop != "":
			return lv.Loop, nil
		case lv.Segtype == "thin-pool":
			return "", nil
		}
		return "/dev/" + lv.VG + "/" + lv.Name, nil
	case "snap_percent":
		if classicSnap {
			return f.percent(lv), nil
		}
		return "", nil
	case "data_percent":
		if classicSnap || lv.Segtype == "thin" || lv.Segtype == "thin-pool" {
			return f.percent(lv), nil
		}
		return "", nil
	case "metadata_percent":
		if lv.Segtype == "thin-pool" {
			return "5.00", nil
		}
		return "", nil
	}
	return "", failed("Unrecognised field: %s", name)
}

// lvSize is lv's size in bytes: its Size, else its image's.
func lvSize(lv *state.LV) (int64, error) {
	if lv.Size != 0 || lv.Image == "" {
		return lv.Size, nil
	}
	fi, err := os.Stat(lv.Image)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// percent is lv's fill: the Percent fault file's content for a valid
// classic snapshot or a thin pool, else the state's.
func (f *fake) percent(lv *state.LV) string {
	invalid := len(lv.Attr) >= 5 && lv.Attr[4] == 'I'
	overridable := lv.Segtype == "thin-pool" || (lv.Origin != "" && lv.Segtype != "thin")
	if b, err := os.ReadFile(filepath.Join(f.dir, state.Percent)); err == nil && overridable && !invalid {
		return strings.TrimSpace(string(b))
	}
	if lv.Percent == "" {
		return "0.00"
	}
	return lv.Percent
}
