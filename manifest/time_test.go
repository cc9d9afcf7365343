package manifest

import (
	"math"
	"math/big"
	"testing"
)

// TestTimeFromNano checks the version-1 conversion against exact big-integer
// arithmetic: Sec*1e9 + Nsec must equal the nanoseconds, with Nsec in
// [0, 1e9).
func TestTimeFromNano(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want Time
	}{
		{0, Time{0, 0}},
		{1, Time{0, 1}},
		{-1, Time{-1, 999999999}},
		{999999999, Time{0, 999999999}},
		{1e9, Time{1, 0}},
		{-1e9, Time{-1, 0}},
		{-1e9 - 1, Time{-2, 999999999}},
		{1700000000123456789, Time{1700000000, 123456789}},
		{math.MaxInt64, Time{9223372036, 854775807}},
		{math.MinInt64, Time{-9223372037, 145224192}},
	} {
		got := TimeFromNano(tc.ns)
		if got != tc.want {
			t.Errorf("TimeFromNano(%d) = %+v, want %+v", tc.ns, got, tc.want)
		}
		sum := new(big.Int).Mul(big.NewInt(got.Sec), big.NewInt(1e9))
		sum.Add(sum, big.NewInt(int64(got.Nsec)))
		if !got.Valid() || sum.Cmp(big.NewInt(tc.ns)) != 0 {
			t.Errorf("TimeFromNano(%d) = %+v, which is %v ns", tc.ns, got, sum)
		}
	}
}

func TestTimeUnixNano(t *testing.T) {
	for _, tc := range []struct {
		t  Time
		ns int64
		ok bool
	}{
		{Time{0, 0}, 0, true},
		{Time{-1, 999999999}, -1, true},
		{Time{1700000000, 123456789}, 1700000000123456789, true},
		{Time{9223372036, 854775807}, math.MaxInt64, true},
		{Time{9223372036, 854775808}, 0, false},
		{Time{-9223372037, 145224192}, math.MinInt64, true},
		{Time{-9223372037, 145224191}, 0, false},
		{Time{10413792000, 0}, 0, false}, // 2300
		{Time{math.MaxInt64, 999999999}, 0, false},
		{Time{math.MinInt64, 0}, 0, false},
		{Time{0, 1e9}, 0, false}, // invalid
	} {
		ns, ok := tc.t.UnixNano()
		if ns != tc.ns || ok != tc.ok {
			t.Errorf("%+v.UnixNano() = %d, %v; want %d, %v", tc.t, ns, ok, tc.ns, tc.ok)
		}
	}
}

func TestTimeCompareAndString(t *testing.T) {
	ordered := []Time{
		{math.MinInt64, 0}, {math.MinInt64, 999999999}, {-11661710400, 500000000},
		{-1, 999999999}, {0, 0}, {0, 1}, {10413792000, 123456789}, {math.MaxInt64, 999999999},
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want || a.Before(b) != (want < 0) {
				t.Errorf("%+v.Compare(%+v) = %d, Before %v; want %d", a, b, got, a.Before(b), want)
			}
		}
	}
	for _, tc := range []struct {
		t    Time
		want string
	}{
		{Time{0, 0}, "1970-01-01T00:00:00Z"},
		{Time{-1, 999999999}, "1969-12-31T23:59:59.999999999Z"},
		{Time{10413792000, 123456789}, "2300-01-01T00:00:00.123456789Z"},
		{Time{-11661710400, 500000000}, "1600-06-15T12:00:00.5Z"},
		{Time{math.MaxInt64, 999999999}, "@9223372036854775807.999999999"},
		{Time{math.MinInt64, 1}, "@-9223372036854775808.000000001"},
		{Time{0, 1e9}, "@0.1000000000"},
	} {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.t, got, tc.want)
		}
	}
}
