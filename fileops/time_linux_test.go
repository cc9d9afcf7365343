package fileops

import (
	"math"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/manifest"
)

// Every timespec the kernel can report converts to a manifest.Time and back
// unchanged, int64 seconds at both ends included.
func TestTimespecConversion(t *testing.T) {
	for _, ts := range []unix.Timespec{
		{Sec: 0, Nsec: 0},
		{Sec: -1, Nsec: 999999999},
		{Sec: 10413792000, Nsec: 123456789},  // 2300, beyond int64 nanoseconds
		{Sec: -11661710400, Nsec: 500000000}, // 1600
		{Sec: math.MaxInt64, Nsec: 999999999},
		{Sec: math.MinInt64, Nsec: 0},
	} {
		mt := FromTimespec(ts)
		if mt.Sec != ts.Sec || int64(mt.Nsec) != ts.Nsec {
			t.Errorf("FromTimespec(%+v) = %+v", ts, mt)
		}
		if back := ToTimespec(mt); back != ts {
			t.Errorf("ToTimespec(FromTimespec(%+v)) = %+v", ts, back)
		}
	}
	if got := ToTimespec(manifest.Time{Sec: 5, Nsec: 7}); got != (unix.Timespec{Sec: 5, Nsec: 7}) {
		t.Errorf("ToTimespec = %+v", got)
	}
}
