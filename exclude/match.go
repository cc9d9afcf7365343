package exclude

import (
	"fmt"
	"strings"
)

// Matcher is one pattern of the syntax above matched against a single
// path, with no rule order and nothing inherited from a directory: what
// find needs. A pattern without a slash matches a base name at any depth;
// one with a slash is anchored at the root and matches the whole path
// (restic's find rules).
type Matcher struct{ p pattern }

// NewMatcher compiles text; a negation ("!") has no meaning for one
// pattern and is refused with ErrBadPattern.
func NewMatcher(text string) (*Matcher, error) {
	if strings.HasPrefix(text, "!") {
		return nil, fmt.Errorf("%w %q: a negation needs a rule list", ErrBadPattern, text)
	}
	p, err := parsePattern(text)
	if err != nil {
		return nil, err
	}
	return &Matcher{p: p}, nil
}

// Match reports whether rel (relative to the root, slash-separated; ""
// is the root, which nothing matches) matches the pattern.
func (m *Matcher) Match(rel string, isDir bool) bool {
	if rel == "" {
		return false
	}
	return m.p.match(strings.Split(rel, "/"), isDir)
}
