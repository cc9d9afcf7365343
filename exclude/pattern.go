// Package exclude owns lvback's exclude rules: it parses the patterns of
// --exclude, --exclude-file and the config's exclude keys, and decides
// which paths they leave out of a backup. It never touches the file system
// except to read an exclude file (ReadFile): finding CACHEDIR.TAG and
// --exclude-if-present markers is the walker's job.
//
// # Pattern syntax
//
// Patterns are matched against paths relative to the volume root,
// slash-separated, component by component, like restic's and gitignore's:
//
//	*.o         * is any run of characters within one component (dot files too)
//	file?.txt   ? is one character within a component
//	[a-z]*.log  a character class, [^a-z] its complement (path.Match syntax)
//	\*.o        \c is the character c itself (\*, \?, \[, \\, \!, \#)
//	/a/**/b     ** as a whole component is any number of components (zero or
//	            more); as the last one, one or more: a/** is what is inside a
//	/tmp        a leading slash anchors the pattern at the volume root
//	var/tmp     a slash inside anchors it too (gitignore's rule; write
//	            **/var/tmp for var/tmp at any depth)
//	core        a pattern without a slash matches that name at any depth
//	cache/      a trailing slash matches directories only
//	!keep.log   a leading ! negates: what it matches is kept again
//
// Rules apply in order and the last matching rule wins, so "*.log" then
// "!keep.log" keeps every keep.log. A negation cannot bring back anything
// inside an excluded directory: the walker never reads an excluded
// directory. A matched directory is left out with everything below it.
//
// # Marked directories
//
// With Spec.Caches, a directory holding a CACHEDIR.TAG file that begins
// with the tagging spec's signature keeps only that file; with
// Spec.IfPresent, a directory holding an entry of one of the given names
// keeps only that entry. The directory itself stays (as restic does), so a
// restored tree is marked the same way.
package exclude

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrBadPattern reports a pattern that cannot be parsed.
var ErrBadPattern = errors.New("bad exclude pattern")

// pattern is one compiled rule.
type pattern struct {
	text    string   // as written
	comps   []string // path.Match patterns, "**" for any number of components
	negate  bool
	dirOnly bool
}

// parsePattern compiles one pattern.
func parsePattern(text string) (pattern, error) {
	p := pattern{text: text}
	s := text
	if strings.HasPrefix(s, "!") {
		p.negate, s = true, s[1:]
	}
	anchored := strings.HasPrefix(s, "/")
	s = strings.TrimPrefix(s, "/")
	if strings.HasSuffix(s, "/") {
		p.dirOnly, s = true, strings.TrimSuffix(s, "/")
	}
	if s == "" {
		return p, fmt.Errorf("%w %q: empty", ErrBadPattern, text)
	}
	comps := strings.Split(s, "/")
	if len(comps) > 1 {
		anchored = true
	}
	for _, c := range comps {
		switch c {
		case "", ".", "..":
			return p, fmt.Errorf("%w %q: empty, \".\" or \"..\" path component", ErrBadPattern, text)
		}
		if _, err := path.Match(c, ""); err != nil {
			return p, fmt.Errorf("%w %q: %v", ErrBadPattern, text, err)
		}
	}
	if !anchored {
		comps = append([]string{"**"}, comps...)
	}
	for _, c := range comps { // a/**/**/b is a/**/b: no needless backtracking
		if c != "**" || len(p.comps) == 0 || p.comps[len(p.comps)-1] != "**" {
			p.comps = append(p.comps, c)
		}
	}
	return p, nil
}

// match reports whether the pattern matches the path's components.
func (p *pattern) match(parts []string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	return matchComps(p.comps, parts)
}

// matchComps matches pattern components against path components. "**"
// matches zero or more components, or one or more when it is last.
func matchComps(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return len(parts) > 0
			}
			for i := 0; i <= len(parts); i++ {
				if matchComps(rest, parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}
