// Package tags owns the syntax and matching of backup tags: what a tag
// may hold, how a command line or config value lists several (commas),
// and restic's filter semantics (a list "a,b" matches a backup that has
// both; several lists match a backup that one of them matches). It never
// reads or writes a repository.
package tags

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest tag in bytes: enough for a ticket number or a
// short phrase, short enough to fit list's table.
const MaxLen = 128

// Valid checks one tag: 1 to MaxLen bytes of UTF-8 without commas (they
// separate tags), white space or control characters.
func Valid(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("empty tag")
	case len(t) > MaxLen:
		return fmt.Errorf("tag %.20q... is longer than %d bytes", t, MaxLen)
	case !utf8.ValidString(t):
		return fmt.Errorf("invalid tag %s: not valid UTF-8", t) // not %q: the command line escapes it once
	case !isPrintableWord(t):
		return fmt.Errorf("invalid tag %q: no commas, white space or control characters", t)
	}
	return nil
}

// isPrintableWord reports whether t is valid UTF-8 holding no comma,
// white space or control character.
func isPrintableWord(t string) bool {
	if !utf8.ValidString(t) {
		return false
	}
	for _, c := range t {
		if c == ',' || unicode.IsSpace(c) || unicode.IsControl(c) {
			return false
		}
	}
	return true
}

// Parse reads tags as flags and config keys give them: each value is one
// tag or several separated by commas. It returns them sorted without
// duplicates (nil for none); any invalid tag is an error.
func Parse(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if err := Valid(t); err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	return Normalize(out), nil
}

// Normalize returns ts sorted without duplicates, nil when empty; the
// order labels are stored and printed in.
func Normalize(ts []string) []string {
	if len(ts) == 0 {
		return nil
	}
	out := slices.Clone(ts)
	slices.Sort(out)
	return slices.Compact(out)
}

// ParseLists reads filters (list --tag, prune --keep-tag, keep_tags):
// each value is a list of tags separated by commas, all of which a
// backup must have. It returns each list normalized ("b,a" becomes
// "a,b"), in the order given.
func ParseLists(values []string) ([]string, error) {
	out := make([]string, 0, len(values))
	for _, v := range values {
		ts, err := Parse([]string{v})
		if err != nil {
			return nil, err
		}
		out = append(out, strings.Join(ts, ","))
	}
	return out, nil
}

// Match returns the first of lists (as ParseLists returns them) whose
// every tag is in have, and whether there is one. No lists match nothing.
func Match(have, lists []string) (string, bool) {
	for _, l := range lists {
		if hasAll(have, strings.Split(l, ",")) {
			return l, true
		}
	}
	return "", false
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
