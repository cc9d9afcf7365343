package retention

import (
	"testing"
	"time"
)

func TestPolicyString(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want string
	}{
		{"none", Policy{}, "keep everything"},
		{"daily and weekly", Policy{Daily: 7, Weekly: 4}, "keep 7 daily, 4 weekly"},
		{"every rule", Policy{Last: 3, Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 2, Within: 14 * 24 * time.Hour},
			"keep the last 3, 24 hourly, 7 daily, 4 weekly, 12 monthly, 2 yearly, all within 14d"},
		{"tags", Policy{Daily: 7, Tags: []string{"audit", "gold,2026"}}, "keep 7 daily, every backup tagged audit or gold,2026"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.String(); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}
