package lvm

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// lvRow is one logical volume of an `lvs --reportformat json` report. LVM
// prints every value as a string; a field that was not asked for, or does
// not apply, is "".
type lvRow struct {
	VG              string `json:"vg_name"`
	Name            string `json:"lv_name"`
	Attr            string `json:"lv_attr"`
	Segtype         string `json:"segtype"`
	Pool            string `json:"pool_lv"`
	Path            string `json:"lv_path"`
	Tags            string `json:"lv_tags"`
	SnapPercent     string `json:"snap_percent"`
	DataPercent     string `json:"data_percent"`
	MetadataPercent string `json:"metadata_percent"`
	Origin          string `json:"origin"`
	UUID            string `json:"lv_uuid"`
	Size            string `json:"lv_size"` // bytes with --units b --nosuffix
	Time            string `json:"lv_time"`
	ThinID          string `json:"thin_id"`
	Transaction     string `json:"transaction_id"`
}

// report is the document `lvs --reportformat json` prints:
// {"report":[{"lv":[{"lv_name":"x",...}]}]}. Other sections (a "log" when
// LVM is configured to report its own messages) are ignored.
type report struct {
	Report []struct {
		LV []lvRow `json:"lv"`
	} `json:"report"`
}

// parseReport returns the logical volumes of an lvs JSON report, in the
// order lvs printed them.
func parseReport(b []byte) ([]lvRow, error) {
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse lvs report: %w", err)
	}
	if r.Report == nil {
		return nil, errors.New(`parse lvs report: no "report" section`)
	}
	var rows []lvRow
	for _, sec := range r.Report {
		rows = append(rows, sec.LV...)
	}
	return rows, nil
}

// hasTag reports whether the row's comma-separated lv_tags include t.
func (r lvRow) hasTag(t string) bool {
	for x := range strings.SplitSeq(r.Tags, ",") {
		if x == t {
			return true
		}
	}
	return false
}

// invalid reports whether lv_attr's state (its 5th character) marks an
// invalid snapshot: 'I', or 'S' when it is also suspended.
func (r lvRow) invalid() bool {
	return len(r.Attr) >= 5 && (r.Attr[4] == 'I' || r.Attr[4] == 'S')
}

// thin reports whether the row is a thin volume (not a thin pool).
func (r lvRow) thin() bool { return r.Segtype == "thin" }

// parsePercent parses an lvs percentage such as "12.50". The empty string,
// which lvs prints when a value does not apply, gives ok == false.
func parsePercent(s string) (p float64, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	p, err = strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) || p < 0 {
		return 0, false, fmt.Errorf("lvs printed %q where a percentage belongs", s)
	}
	return p, true, nil
}
