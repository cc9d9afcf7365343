package manifest

import (
	"cmp"
	"fmt"
	"time"
)

// Time is a file time as the kernel keeps it: whole seconds since the Unix
// epoch, any int64, and nanoseconds into that second. It holds every time a
// Linux timespec can; int64 nanoseconds end in 1677 and 2262, and
// time.Time's Unix seconds stop short of either end of int64. A file
// system may keep less (ext4 with 256-byte inodes keeps 1901 to 2446) and
// clamps what it cannot keep when the time is set.
//
// A valid Time has Nsec below 1e9. Writer.Add refuses, and Reader never
// returns, an entry with an invalid Time. The zero Time is the epoch.
type Time struct {
	Sec  int64
	Nsec uint32 // 0 to 999,999,999
}

// nsPerSec is the number of nanoseconds in a second.
const nsPerSec = 1_000_000_000

// TimeFromNano returns the Time ns nanoseconds after the Unix epoch
// (before it, if negative), exactly: the seconds are rounded down, so the
// nanoseconds are never negative.
func TimeFromNano(ns int64) Time {
	sec, nsec := ns/nsPerSec, ns%nsPerSec
	if nsec < 0 {
		sec, nsec = sec-1, nsec+nsPerSec
	}
	return Time{Sec: sec, Nsec: uint32(nsec)}
}

// UnixNano returns t in nanoseconds since the Unix epoch, and false (with
// 0) when t is invalid or int64 nanoseconds cannot hold it (before
// 1677-09-21T00:12:43.145224192Z or after 2262-04-11T23:47:16.854775807Z).
func (t Time) UnixNano() (int64, bool) {
	ns := t.Sec*nsPerSec + int64(t.Nsec) // wraps when t is out of range
	if TimeFromNano(ns) != t {
		return 0, false
	}
	return ns, true
}

// Valid reports whether t.Nsec is below one second.
func (t Time) Valid() bool { return t.Nsec < nsPerSec }

// Compare returns -1, 0 or +1 as t is before, equal to or after u.
func (t Time) Compare(u Time) int {
	if c := cmp.Compare(t.Sec, u.Sec); c != 0 {
		return c
	}
	return cmp.Compare(t.Nsec, u.Nsec)
}

// Before reports whether t is earlier than u.
func (t Time) Before(u Time) bool { return t.Compare(u) < 0 }

// String returns t in RFC 3339 with nanoseconds, in UTC, for years 0 to
// 9999, and as "@seconds.nanoseconds" otherwise (the form `date -d`
// accepts).
func (t Time) String() string {
	// Seconds of 0000-01-01 and 10000-01-01 relative to the Unix epoch.
	const minSec, maxSec = -62167219200, 253402300800
	if t.Valid() && t.Sec >= minSec && t.Sec < maxSec {
		return time.Unix(t.Sec, int64(t.Nsec)).UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("@%d.%09d", t.Sec, t.Nsec)
}
