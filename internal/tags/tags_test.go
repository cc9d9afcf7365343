package tags

import (
	"slices"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, tt := range []struct {
		name, tag string
		ok        bool
	}{
		{"word", "monthly", true},
		{"punctuation and unicode", "ticket-42_ü.x", true},
		{"max length", strings.Repeat("a", MaxLen), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", MaxLen+1), false},
		{"comma", "a,b", false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"newline", "a\n", false},
		{"NUL", "a\x00", false},
		{"escape", "a\x1b[31m", false},
		{"bad UTF-8", "a\xff", false},
		{"no-break space", "a\u00a0b", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Valid(tt.tag); (err == nil) != tt.ok {
				t.Fatalf("Valid(%q) = %v, want ok=%v", tt.tag, err, tt.ok)
			}
		})
	}
}

func TestParse(t *testing.T) {
	got, err := Parse([]string{"b,a", "c", "a"})
	if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Parse = %q, %v", got, err)
	}
	if got, err := Parse(nil); err != nil || got != nil {
		t.Fatalf("Parse(nil) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "a,,b", "a,", " a"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestMatch(t *testing.T) {
	lists, err := ParseLists([]string{"b,a", "c"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		have []string
		want string
		ok   bool
	}{
		{"both of a list", []string{"a", "b", "x"}, "a,b", true},
		{"only one of a list", []string{"a"}, "", false},
		{"the other list", []string{"c"}, "c", true},
		{"none", nil, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Match(tt.have, lists)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("Match(%q) = %q, %v; want %q, %v", tt.have, got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := Match([]string{"a"}, nil); ok {
		t.Fatal("no lists matched")
	}
}
