package exclude

import (
	"fmt"
	"slices"
	"strings"
)

// CacheTagName is the file that marks a cache directory (the Cache Directory
// Tagging Specification, https://bford.info/cachedir/).
const CacheTagName = "CACHEDIR.TAG"

// CacheTagSignature is how a valid CACHEDIR.TAG begins: these 43 bytes
// exactly, anything may follow.
const CacheTagSignature = "Signature: 8a477f597d28d172789f06886806bc55"

// ValidCacheTag reports whether head, the beginning of a CACHEDIR.TAG file
// (at least len(CacheTagSignature) bytes of it when it is that long), marks
// a cache directory.
func ValidCacheTag(head []byte) bool {
	return strings.HasPrefix(string(head), CacheTagSignature)
}

// Spec is a set of exclude rules as written: what the command line and the
// config give, and what info.json records. Patterns hold those read from
// exclude files too, in order. The zero Spec excludes nothing.
type Spec struct {
	// Patterns are applied in order; the last one matching a path decides.
	Patterns []string `json:"patterns,omitempty"`
	// Caches leaves out the content of every directory holding a valid
	// CACHEDIR.TAG; the directory and the tag file are kept.
	Caches bool `json:"caches,omitempty"`
	// IfPresent leaves out the content of every directory holding an entry
	// with one of these names; the directory and the marker are kept.
	IfPresent []string `json:"if_present,omitempty"`
}

// Empty reports whether s excludes nothing.
func (s Spec) Empty() bool {
	return len(s.Patterns) == 0 && !s.Caches && len(s.IfPresent) == 0
}

// Rules are compiled exclude rules. A nil *Rules excludes nothing. Rules
// are read-only after Compile: safe for concurrent use.
type Rules struct {
	patterns  []pattern
	caches    bool
	ifPresent []string
}

// Compile checks every pattern and marker name of s. The error names the
// first bad one and wraps ErrBadPattern.
func (s Spec) Compile() (*Rules, error) {
	r := &Rules{caches: s.Caches}
	for _, t := range s.Patterns {
		p, err := parsePattern(t)
		if err != nil {
			return nil, err
		}
		r.patterns = append(r.patterns, p)
	}
	for _, n := range s.IfPresent {
		if err := checkName(n); err != nil {
			return nil, err
		}
		if !slices.Contains(r.ifPresent, n) {
			r.ifPresent = append(r.ifPresent, n)
		}
	}
	return r, nil
}

// checkName refuses an --exclude-if-present name that is not one plain
// file name.
func checkName(n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
		return fmt.Errorf("%w: exclude-if-present name %q must be a plain file name", ErrBadPattern, n)
	}
	return nil
}

// Excluded reports whether the rules' patterns leave out the entry at rel
// (relative to the volume root, slash-separated; "" is the root, never
// excluded), assuming its parent directory is not left out. isDir says
// whether it is a directory.
func (r *Rules) Excluded(rel string, isDir bool) bool {
	if r == nil || rel == "" || len(r.patterns) == 0 {
		return false
	}
	parts := strings.Split(rel, "/")
	for i := len(r.patterns) - 1; i >= 0; i-- {
		if p := &r.patterns[i]; p.match(parts, isDir) {
			return !p.negate
		}
	}
	return false
}

// Markers returns the names that, found in a directory, leave out the rest
// of its content: the --exclude-if-present names, then CacheTagName when
// caches are excluded (valid only if ValidCacheTag says so).
func (r *Rules) Markers() []string {
	if r == nil {
		return nil
	}
	if r.caches {
		return append(slices.Clip(r.ifPresent), CacheTagName)
	}
	return r.ifPresent
}

// IsCacheTag reports whether the marker name needs ValidCacheTag's check.
func (r *Rules) IsCacheTag(name string) bool {
	return r != nil && r.caches && name == CacheTagName && !slices.Contains(r.ifPresent, name)
}
