package weed

import "testing"

func TestParseStatCPU(t *testing.T) {
	// Fields 14-17 are 1234, 56, 7 and 3 in each well-formed line.
	const tail = " S 1 2 3 0 -1 4194560 100 0 0 0 1234 56 7 3 20 0 12 0 345 1000000 2000 18446744073709551615"
	for _, c := range []struct {
		name    string
		stat    string
		want    int64
		wantErr bool
	}{
		{name: "plain", stat: "4242 (weed)" + tail, want: 1300},
		{name: "spaces and parentheses in the name", stat: "4242 (we) ed (x))" + tail, want: 1300},
		{name: "no name", stat: "4242 weed" + tail, wantErr: true},
		{name: "cut short", stat: "4242 (weed) S 1 2 3 0 -1 4194560 100 0 0 0 1234 56", wantErr: true},
		{name: "not a number", stat: "4242 (weed) S 1 2 3 0 -1 4194560 100 0 0 0 12x4 56 7 3 20", wantErr: true},
		{name: "negative", stat: "4242 (weed) S 1 2 3 0 -1 4194560 100 0 0 0 -5 56 7 3 20", wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStatCPU(c.stat)
			if c.wantErr {
				if err == nil {
					t.Errorf("parseStatCPU = %d, want an error", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("parseStatCPU = %d, %v; want %d", got, err, c.want)
			}
		})
	}
}
