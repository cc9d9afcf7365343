package lvm

import (
	"slices"
	"strings"
	"testing"
)

// sampleReport is what lvs 2.03.16 printed for
// `lvs --reportformat json -o vg_name,lv_name,lv_attr,segtype,pool_lv,lv_path,lv_tags,snap_percent,data_percent`
// with a classic snapshot, a thin pool and a thin volume.
const sampleReport = `  {
      "report": [
          {
              "lv": [
                  {"vg_name":"vg", "lv_name":"data", "lv_attr":"owi-aos---", "segtype":"linear", "pool_lv":"", "lv_path":"/dev/vg/data", "lv_tags":"", "snap_percent":"", "data_percent":""},
                  {"vg_name":"vg", "lv_name":"data-lvback-20261125T031500", "lv_attr":"swi-a-s---", "segtype":"linear", "pool_lv":"", "lv_path":"/dev/vg/data-lvback-20261125T031500", "lv_tags":"lvback,x", "snap_percent":"12.50", "data_percent":"12.50"},
                  {"vg_name":"vg", "lv_name":"pool", "lv_attr":"twi-aotz--", "segtype":"thin-pool", "pool_lv":"", "lv_path":"", "lv_tags":"", "snap_percent":"", "data_percent":"3.05"},
                  {"vg_name":"vg", "lv_name":"thin", "lv_attr":"Vwi-a-tz--", "segtype":"thin", "pool_lv":"pool", "lv_path":"/dev/vg/thin", "lv_tags":"", "snap_percent":"", "data_percent":"0.00"}
              ]
          }
      ]
      ,
      "log": [
          {"log_seq_num":"1", "log_type":"status", "log_context":"processing", "log_object_type":"cmd", "log_object_name":"", "log_object_id":"", "log_object_group":"", "log_object_group_id":"", "log_message":"success", "log_errno":"0", "log_ret_code":"1"}
      ]
  }
`

func TestParseReport(t *testing.T) {
	rows, err := parseReport([]byte(sampleReport))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.VG+"/"+r.Name)
	}
	if want := []string{"vg/data", "vg/data-lvback-20261125T031500", "vg/pool", "vg/thin"}; !slices.Equal(names, want) {
		t.Fatalf("rows %q, want %q", names, want)
	}
	snap, thin := rows[1], rows[3]
	if !snap.hasTag("lvback") || snap.hasTag("lvbac") || rows[0].hasTag("lvback") {
		t.Errorf("hasTag wrong for %q / %q", snap.Tags, rows[0].Tags)
	}
	if p, ok, err := parsePercent(snap.SnapPercent); p != 12.5 || !ok || err != nil {
		t.Errorf("parsePercent(%q) = %v, %v, %v", snap.SnapPercent, p, ok, err)
	}
	if !thin.thin() || thin.Pool != "pool" || rows[2].thin() || snap.invalid() {
		t.Errorf("thin/invalid wrong: %+v", rows)
	}

	for _, bad := range []string{"", "{}", `{"report":`, `{"report":[{"lv":[{"lv_name":5}]}]}`, "null"} {
		if _, err := parseReport([]byte(bad)); err == nil {
			t.Errorf("parseReport(%q) did not fail", bad)
		}
	}
}

func TestParsePercent(t *testing.T) {
	cases := []struct {
		in     string
		want   float64
		ok, ee bool
	}{
		{"", 0, false, false},
		{"0.00", 0, true, false},
		{"85.00", 85, true, false},
		{"100.00", 100, true, false},
		{"12,50", 0, false, true},
		{"NaN", 0, false, true},
		{"-1", 0, false, true},
		{"+Inf", 0, false, true},
	}
	for _, c := range cases {
		p, ok, err := parsePercent(c.in)
		if p != c.want || ok != c.ok || (err != nil) != c.ee {
			t.Errorf("parsePercent(%q) = %v, %v, %v", c.in, p, ok, err)
		}
	}
}

func TestInvalid(t *testing.T) {
	for attr, want := range map[string]bool{
		"swi-a-s---": false, "swi-I-s---": true, "swi-S-s---": true, "swi-a": false, "swi": false, "": false,
	} {
		if got := (lvRow{Attr: attr}).invalid(); got != want {
			t.Errorf("invalid(%q) = %v, want %v", attr, got, want)
		}
	}
}

// FuzzParseReport checks that no lvs output makes the parser or the row
// accessors panic.
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(sampleReport))
	f.Add([]byte(`{"report":[{"lv":[]}]}`))
	f.Add([]byte(`{"report":[{"lv":[{"lv_attr":"swi-I","lv_tags":",,lvback,","snap_percent":"1e400"}]}]}`))
	f.Add([]byte(`{"report":[{}],"log":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := parseReport(b)
		if err != nil && rows != nil {
			t.Fatalf("rows %v with error %v", rows, err)
		}
		for _, r := range rows {
			if r.invalid() && len(r.Attr) < 5 {
				t.Fatalf("invalid() with lv_attr %q", r.Attr)
			}
			if r.hasTag(tag) && !strings.Contains(r.Tags, tag) {
				t.Fatalf("hasTag(%q) with lv_tags %q", tag, r.Tags)
			}
			if isSnapshotName(r.Name) && !strings.Contains(r.Name, "-lvback-") {
				t.Fatalf("isSnapshotName(%q)", r.Name)
			}
			for _, s := range []string{r.SnapPercent, r.DataPercent, r.MetadataPercent} {
				if p, ok, err := parsePercent(s); err == nil && ok && !(p >= 0) {
					t.Fatalf("parsePercent(%q) = %v", s, p)
				}
			}
		}
	})
}
