package exclude

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/zeebo/blake3"
)

// Hash identifies the rules of s: the BLAKE3 (hex) of their JSON form.
// Two specs with the same hash exclude the same paths.
func (s Spec) Hash() string {
	data, _ := json.Marshal(Spec{Patterns: s.Patterns, Caches: s.Caches, IfPresent: s.IfPresent})
	sum := blake3.Sum256(data)
	return fmt.Sprintf("%x", sum[:])
}

// Changes describes, one line each, how the rules went from old to s:
// patterns added and removed, a new order, caches and marker names
// switched. It is empty when both exclude the same way.
func (s Spec) Changes(old Spec) []string {
	var out []string
	added, removed := diffLists(old.Patterns, s.Patterns)
	for _, p := range added {
		out = append(out, fmt.Sprintf("pattern %q added", p))
	}
	for _, p := range removed {
		out = append(out, fmt.Sprintf("pattern %q removed", p))
	}
	if len(added) == 0 && len(removed) == 0 && !slices.Equal(old.Patterns, s.Patterns) {
		out = append(out, "pattern order changed")
	}
	if old.Caches != s.Caches {
		out = append(out, fmt.Sprintf("exclude caches %v (was %v)", s.Caches, old.Caches))
	}
	added, removed = diffLists(old.IfPresent, s.IfPresent)
	for _, n := range added {
		out = append(out, fmt.Sprintf("exclude-if-present %q added", n))
	}
	for _, n := range removed {
		out = append(out, fmt.Sprintf("exclude-if-present %q removed", n))
	}
	return out
}

// diffLists returns the items of b not in a and those of a not in b,
// counting repeats.
func diffLists(a, b []string) (added, removed []string) {
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		if count[x] > 0 {
			count[x]--
			continue
		}
		added = append(added, x)
	}
	for _, x := range a {
		if count[x] > 0 {
			count[x]--
			removed = append(removed, x)
		}
	}
	return added, removed
}
