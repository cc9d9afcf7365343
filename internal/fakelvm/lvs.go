package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// lvs implements `lvs --reportformat json -o FIELDS [NAME...]`, printing
// the report as LVM 2.03 does. A NAME is a VG, VG/LV, /dev/VG/LV or
// /dev/mapper/VG-LV; without one every volume is listed.
func (f *fake) lvs(args []string) error {
	var fields, names []string
	format := ""
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
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
		row, err := f.row(lv, fields)
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
	dm := func(s string) string { return strings.ReplaceAll(s, "-", "--") }
	return n == lv.VG || n == lv.VG+"/"+lv.Name || n == "/dev/"+lv.VG+"/"+lv.Name ||
		n == "/dev/mapper/"+dm(lv.VG)+"-"+dm(lv.Name)
}

// row is one volume's JSON object with fields in the order asked.
func (f *fake) row(lv *state.LV, fields []string) (string, error) {
	parts := make([]string, 0, len(fields))
	for _, name := range fields {
		v, err := f.field(lv, name)
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
func (f *fake) field(lv *state.LV, name string) (string, error) {
	classicSnap := lv.Origin != "" && lv.Segtype != "thin"
	switch name {
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
