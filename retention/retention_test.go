package retention

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// backups is a fixed history; the expected keeps below are worked out by hand.
var backups = []Backup{
	{ID: "b1", Time: at("2026-01-01 03:00"), Good: true},
	{ID: "b2", Time: at("2026-01-15 03:00"), Good: true},
	{ID: "b3", Time: at("2026-02-01 03:00"), Good: true}, // a Sunday: ISO week 5
	{ID: "b4", Time: at("2026-02-10 03:00"), Good: true},
	{ID: "b5", Time: at("2026-02-10 15:00"), Good: true},
	{ID: "b6", Time: at("2026-02-11 03:00"), Good: true},
	{ID: "b7", Time: at("2026-02-12 03:00"), Good: true},
	{ID: "b8", Time: at("2026-02-12 03:30"), Good: true},
	{ID: "b9", Time: at("2026-02-12 04:10"), Good: true},
	{ID: "b10", Time: at("2026-02-13 03:00"), Good: true}, // a Friday: ISO week 7
}

func TestApply(t *testing.T) {
	plus10 := time.FixedZone("UTC+10", 10*3600)
	tests := []struct {
		name string
		p    Policy
		loc  *time.Location
		want string
	}{
		{"no rule keeps only the newest", Policy{}, time.UTC, "b10"},
		{"last 3", Policy{Last: 3}, time.UTC, "b10 b9 b8"},
		{"hourly 2", Policy{Hourly: 2}, time.UTC, "b10 b9"},
		{"daily 3", Policy{Daily: 3}, time.UTC, "b10 b9 b6"},
		{"daily 4 in UTC", Policy{Daily: 4}, time.UTC, "b10 b9 b6 b5"},
		{"daily 4 in UTC+10", Policy{Daily: 4}, plus10, "b10 b9 b6 b4"},
		{"weekly 2", Policy{Weekly: 2}, time.UTC, "b10 b3"},
		{"monthly 2", Policy{Monthly: 2}, time.UTC, "b10 b2"},
		{"monthly 5 with fewer months", Policy{Monthly: 5}, time.UTC, "b10 b2"},
		{"yearly 5", Policy{Yearly: 5}, time.UTC, "b10"},
		{"within 2 days", Policy{Within: 48 * time.Hour}, time.UTC, "b10 b9 b8 b7 b6"},
		{"daily 1 and monthly 3", Policy{Daily: 1, Monthly: 3}, time.UTC, "b10 b2"},
		{"last 1 and weekly 3", Policy{Last: 1, Weekly: 3}, time.UTC, "b10 b3 b2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := Apply(tt.p, slices.Clone(backups), tt.loc)
			var kept []string
			for _, d := range ds {
				if d.Keep {
					kept = append(kept, d.ID)
					if len(d.Reasons) == 0 {
						t.Errorf("%s kept without a reason", d.ID)
					}
				} else if len(d.Reasons) != 0 {
					t.Errorf("%s removed but has reasons %v", d.ID, d.Reasons)
				}
			}
			if got := strings.Join(kept, " "); got != tt.want {
				t.Fatalf("kept %q, want %q", got, tt.want)
			}
			if len(ds) != len(backups) {
				t.Fatalf("%d decisions for %d backups", len(ds), len(backups))
			}
		})
	}
}

// The newest backup is kept even when it had errors, and so is the newest
// one without errors.
func TestApplyKeepsNewestGood(t *testing.T) {
	bs := slices.Clone(backups)
	bs[9].Good = false
	bs[8].Good = false
	ds := Apply(Policy{Last: 1}, bs, time.UTC)
	if !ds[0].Keep || ds[1].Keep || !ds[2].Keep || !slices.Contains(ds[2].Reasons, "newest without errors") {
		t.Fatalf("decisions %+v", ds[:3])
	}
}

func TestApplyEmptyAndOne(t *testing.T) {
	if ds := Apply(Policy{Last: 1}, nil, time.UTC); len(ds) != 0 {
		t.Fatal(ds)
	}
	ds := Apply(Policy{Daily: 0, Hourly: 1}, backups[:1], time.UTC)
	if !ds[0].Keep {
		t.Fatal("the only backup was not kept")
	}
}

func TestValidate(t *testing.T) {
	if err := (Policy{}).Validate(); err != ErrNoRule {
		t.Fatalf("empty policy: %v", err)
	}
	if (Policy{Daily: -1}).Validate() == nil {
		t.Fatal("negative count accepted")
	}
	if (Policy{Within: time.Hour}).Validate() != nil {
		t.Fatal("within alone rejected")
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"14d": 14 * 24 * time.Hour, "1y6m": (365 + 180) * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour}
	for s, want := range good {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "14", "d", "1.5d", "-3d", "3x", "99999999999d"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// Durations past what time.Duration holds are refused with a message that
// says so, never wrapped into a short or negative one (585y once became 21
// days, so prune removed backups the operator meant to keep for ever).
func TestParseDurationRefusesOverflow(t *testing.T) {
	for _, s := range []string{"585y", "1000000d", "293y", "106752d", "15251w", "3559m", "2562048h",
		"292y1000d", "200y200y", "99999999999999999999999d", "9223372036854775807h"} {
		d, err := ParseDuration(s)
		if err == nil {
			t.Errorf("%q accepted as %v", s, d)
			continue
		}
		if !strings.Contains(err.Error(), "too long") {
			t.Errorf("%q: %v, want a too-long message", s, err)
		}
	}
	for s, want := range map[string]time.Duration{"292y": 292 * 365 * 24 * time.Hour, "106751d": 106751 * 24 * time.Hour} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", s, got, err, want)
		}
	}
	if got, err := ParseDuration(FormatDuration(MaxDuration)); err != nil || got != MaxDuration {
		t.Errorf("MaxDuration does not round-trip: %v %v", got, err)
	}
}

// The repository's order decides which backup is newest, not the times: a
// backup made after the clock stepped back has an earlier time than the one
// before it, and must still be kept as the newest.
func TestApplyKeepsRepositoryOrder(t *testing.T) {
	bs := []Backup{
		{ID: "a", Time: at("2026-03-01 03:00"), Good: true},
		{ID: "fast-clock", Time: at("2027-03-01 03:00"), Good: true},
		{ID: "after-step", Time: at("2026-03-02 03:00"), Good: true},
	}
	ds := Apply(Policy{Last: 1}, bs, time.UTC)
	if ds[0].ID != "after-step" || !ds[0].Keep || ds[1].Keep || ds[2].Keep {
		t.Fatalf("decisions %+v", ds)
	}
}

// A pinned backup is kept whatever the rules say, with the pin as reason.
func TestApplyKeepsPinned(t *testing.T) {
	bs := slices.Clone(backups)
	bs[2].Pin = "made in this run"
	ds := Apply(Policy{Last: 1}, bs, time.UTC)
	for _, d := range ds {
		if want := d.ID == "b10" || d.ID == "b3"; d.Keep != want {
			t.Errorf("%s kept=%v %v", d.ID, d.Keep, d.Reasons)
		}
		if d.ID == "b3" && !slices.Contains(d.Reasons, "made in this run") {
			t.Errorf("b3 reasons %v", d.Reasons)
		}
	}
}

// A protected backup is kept whatever the rules say, with "protected" as
// reason; --keep-tag keeps the backups with all tags of one list.
func TestApplyProtectedAndTags(t *testing.T) {
	bs := slices.Clone(backups)
	bs[0].Protected = true                     // b1
	bs[1].Tags = []string{"monthly"}           // b2
	bs[3].Tags = []string{"db", "pre-upgrade"} // b4
	bs[4].Tags = []string{"db"}                // b5: only one tag of "db,pre-upgrade"
	tests := []struct {
		name string
		p    Policy
		want string
	}{
		{"protected only", Policy{Last: 1}, "b10 b1"},
		{"one tag", Policy{Tags: []string{"monthly"}}, "b10 b2 b1"},
		{"both tags of a list", Policy{Tags: []string{"db,pre-upgrade"}}, "b10 b4 b1"},
		{"either list", Policy{Tags: []string{"db", "monthly"}}, "b10 b5 b4 b2 b1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kept []string
			for _, d := range Apply(tt.p, bs, time.UTC) {
				if d.Keep {
					kept = append(kept, d.ID)
				}
				if d.ID == "b1" && !slices.Contains(d.Reasons, ReasonProtected) {
					t.Errorf("b1 reasons %v", d.Reasons)
				}
			}
			if got := strings.Join(kept, " "); got != tt.want {
				t.Fatalf("kept %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateTags(t *testing.T) {
	if err := (Policy{Tags: []string{"a,b"}}).Validate(); err != nil {
		t.Fatalf("keep-tag alone refused: %v", err)
	}
	for _, bad := range []string{"", "a b", "a,,b"} {
		if (Policy{Tags: []string{bad}}).Validate() == nil {
			t.Errorf("keep-tag %q accepted", bad)
		}
	}
}
