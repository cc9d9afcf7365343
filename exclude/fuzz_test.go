package exclude

import (
	"errors"
	"strings"
	"testing"
)

// FuzzPattern parses arbitrary patterns: parsing must not panic, must fail
// only with ErrBadPattern, and a pattern that parses must match paths
// without panicking; an anchored literal pattern matches its own path.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"*.o", "/a/**/b", "!keep", `\!x`, "[a-z]?/", "a/**", "**/**/x", "[", "a//b", `x\`} {
		f.Add(s, "a/b/c")
	}
	f.Fuzz(func(t *testing.T, pat, rel string) {
		r, err := Spec{Patterns: []string{pat}}.Compile()
		if err != nil {
			if !errors.Is(err, ErrBadPattern) {
				t.Fatalf("error %v does not wrap ErrBadPattern", err)
			}
			return
		}
		r.Excluded(rel, true)
		r.Excluded(rel, false)
		lit := strings.Trim(pat, "/")
		if !strings.ContainsAny(pat, `*?[\!`) && lit != "" && !r.Excluded(lit, true) {
			t.Fatalf("pattern %q does not match %q", pat, lit)
		}
	})
}
