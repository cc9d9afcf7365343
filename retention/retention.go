// Package retention decides which backups a prune keeps, with the
// --keep-last/hourly/daily/weekly/monthly/yearly/within/tag rules of
// restic and borg, and protection. It only decides; it never deletes
// anything.
package retention

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lvback/lvback/internal/tags"
)

// Policy is a set of keep rules; a backup is kept when any rule keeps it.
// A count of 0 disables that rule.
type Policy struct {
	Last    int           `toml:"keep_last" json:"keep_last,omitempty"`
	Hourly  int           `toml:"keep_hourly" json:"keep_hourly,omitempty"`
	Daily   int           `toml:"keep_daily" json:"keep_daily,omitempty"`
	Weekly  int           `toml:"keep_weekly" json:"keep_weekly,omitempty"`
	Monthly int           `toml:"keep_monthly" json:"keep_monthly,omitempty"`
	Yearly  int           `toml:"keep_yearly" json:"keep_yearly,omitempty"`
	Within  time.Duration `toml:"-" json:"keep_within,omitempty"`
	// Tags keeps every backup that has all the tags of one of these
	// lists (restic's --keep-tag: "a,b" needs both, two lists either).
	Tags []string `toml:"keep_tags" json:"keep_tags,omitempty"`
}

// ErrNoRule reports a policy that would keep nothing but the newest backup.
var ErrNoRule = errors.New("no keep rule given (use --keep-last, --keep-daily, ..., --keep-tag)")

// Validate checks that the policy has at least one rule, no negatives
// and only valid tags.
func (p Policy) Validate() error {
	for _, n := range []int{p.Last, p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly} {
		if n < 0 {
			return fmt.Errorf("keep counts must not be negative")
		}
	}
	if p.Within < 0 {
		return fmt.Errorf("keep-within must not be negative")
	}
	for _, l := range p.Tags {
		if _, err := tags.ParseLists([]string{l}); err != nil {
			return fmt.Errorf("keep-tag: %w", err)
		}
	}
	if !p.hasRule() {
		return ErrNoRule
	}
	return nil
}

// String says the policy in words, for an operator: "keep the last 3,
// 7 daily, 4 weekly, all within 14d"; "keep everything" for no rule.
func (p Policy) String() string {
	var parts []string
	if p.Last > 0 {
		parts = append(parts, fmt.Sprintf("the last %d", p.Last))
	}
	for _, r := range []struct {
		n    int
		unit string
	}{{p.Hourly, "hourly"}, {p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}, {p.Yearly, "yearly"}} {
		if r.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", r.n, r.unit))
		}
	}
	if p.Within > 0 {
		parts = append(parts, "all within "+FormatDuration(p.Within))
	}
	if len(p.Tags) > 0 {
		parts = append(parts, "every backup tagged "+strings.Join(p.Tags, " or "))
	}
	if len(parts) == 0 {
		return "keep everything"
	}
	return "keep " + strings.Join(parts, ", ")
}

// hasRule reports whether any rule of p is set.
func (p Policy) hasRule() bool {
	return p.Last|p.Hourly|p.Daily|p.Weekly|p.Monthly|p.Yearly != 0 || p.Within != 0 || len(p.Tags) > 0
}

// Backup is what a rule looks at: an identity, a time for the calendar
// buckets, and whether it had skipped entries.
type Backup struct {
	ID   string
	Time time.Time
	Good bool // complete without skipped entries
	// Pin, when set, keeps the backup whatever the rules say, with Pin as
	// the reason (a backup made by the same run, say).
	Pin string
	// Protected keeps the backup whatever the rules say (reason
	// "protected"); Tags are its tags, which Policy.Tags selects by.
	Protected bool
	Tags      []string
}

// ReasonProtected is the reason a protected backup is kept.
const ReasonProtected = "protected"

// Decision says whether one backup is kept and which rules keep it.
type Decision struct {
	Backup
	Keep    bool
	Reasons []string
}

// bucketRule keeps the newest backup of each of the first n periods that
// hold a backup, like restic's --keep-daily.
type bucketRule struct {
	name string
	n    int
	key  func(t time.Time) string
}

// Apply decides for every backup (complete ones only), newest first in the
// result. backups must come oldest first in the repository's own order (by
// ID, the order `latest` uses): Apply never reorders them by time, so a
// clock that stepped back cannot make an older backup look newer and have
// the newest one pruned. Buckets use each backup's time in loc. The newest
// backup, the newest good one, every pinned and every protected one are
// always kept whatever the rules say.
func Apply(p Policy, backups []Backup, loc *time.Location) []Decision {
	ds := make([]Decision, len(backups))
	for i, b := range backups {
		ds[len(backups)-1-i] = Decision{Backup: b}
	}
	if len(ds) == 0 {
		return ds
	}
	keep := func(i int, why string) { ds[i].Keep = true; ds[i].Reasons = append(ds[i].Reasons, why) }
	keep(0, "newest")
	for i := range ds {
		if ds[i].Pin != "" {
			keep(i, ds[i].Pin)
		}
		if ds[i].Protected {
			keep(i, ReasonProtected)
		}
		if l, ok := tags.Match(ds[i].Tags, p.Tags); ok {
			keep(i, "tag "+l)
		}
	}
	for i := range ds {
		if ds[i].Good {
			if i > 0 {
				keep(i, "newest without errors")
			}
			break
		}
	}
	for i := 0; i < len(ds) && i < p.Last; i++ {
		keep(i, "last")
	}
	for _, r := range bucketRules(p) {
		seen, last := 0, ""
		for i := range ds {
			if seen >= r.n {
				break
			}
			if k := r.key(ds[i].Time.In(loc)); k != last {
				last = k
				seen++
				keep(i, r.name)
			}
		}
	}
	if p.Within > 0 {
		limit := ds[0].Time.Add(-p.Within)
		for i := range ds {
			if !ds[i].Time.Before(limit) || ds[i].Time.After(ds[0].Time) {
				keep(i, "within "+FormatDuration(p.Within))
			}
		}
	}
	return ds
}

func bucketRules(p Policy) []bucketRule {
	return []bucketRule{
		{"hourly", p.Hourly, func(t time.Time) string { return t.Format("2006-01-02 15") }},
		{"daily", p.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", p.Weekly, func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%d-W%02d", y, w)
		}},
		{"monthly", p.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
		{"yearly", p.Yearly, func(t time.Time) string { return t.Format("2006") }},
	}
}

// MaxDuration is the longest keep-within duration: what time.Duration holds,
// rounded down to whole days (about 292 years).
const MaxDuration = time.Duration(math.MaxInt64) / (24 * time.Hour) * (24 * time.Hour)

// ParseDuration reads a keep-within duration: a number with a unit of
// h (hours), d (days), w (weeks), m (months of 30 days) or y (365 days),
// combined like "1y6m" or "14d". A duration longer than MaxDuration is
// refused, never wrapped.
func ParseDuration(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour,
		'm': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if s == "" {
		return 0, errors.New("empty duration")
	}
	tooLong := fmt.Errorf("duration %q is too long: at most %s (%dd)", s, FormatDuration(MaxDuration), MaxDuration/(24*time.Hour))
	var total time.Duration
	var n int64
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n > (math.MaxInt64-9)/10 {
				return 0, tooLong
			}
			n, digits = n*10+int64(c-'0'), true
		case units[c] != 0 && digits:
			u := units[c]
			if n > int64(MaxDuration/u) || time.Duration(n)*u > MaxDuration-total {
				return 0, tooLong
			}
			total += time.Duration(n) * u
			n, digits = 0, false
		default:
			return 0, fmt.Errorf("invalid duration %q: use a number and h, d, w, m or y, e.g. 14d", s)
		}
	}
	if digits {
		return 0, fmt.Errorf("invalid duration %q: the last number has no unit", s)
	}
	return total, nil
}

// FormatDuration prints a duration the way ParseDuration reads it.
func FormatDuration(d time.Duration) string {
	var b strings.Builder
	for _, u := range []struct {
		c byte
		d time.Duration
	}{{'y', 365 * 24 * time.Hour}, {'d', 24 * time.Hour}, {'h', time.Hour}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%c", n, u.c)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0h"
	}
	return b.String()
}
