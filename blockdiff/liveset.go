package blockdiff

import (
	"encoding/binary"
	"slices"
)

// LiveSet is the set of chunks that backups still reference, kept for GC
// in 8 bytes per distinct chunk: the first 8 bytes of each id, sorted.
// Two ids that share those bytes both count as live, so a collision can
// only keep a chunk that is garbage, never delete one in use; memory
// follows the number of distinct chunks, not the number of references
// (a 32 TiB image of distinct 2 MiB chunks needs 128 MB, where a map of
// ids needed over a gigabyte). Not safe for concurrent use.
type LiveSet struct {
	keys    []uint64 // sorted, distinct
	pending []uint64 // added since the last merge, in any order
}

// Add marks id as live.
func (s *LiveSet) Add(id ID) {
	s.pending = append(s.pending, liveKey(id))
	if len(s.pending) >= max(len(s.keys), 1<<20) {
		s.merge() // amortised: each merge at least doubles what it folds in
	}
}

// Has reports whether id may be live: false means no Add named it.
func (s *LiveSet) Has(id ID) bool {
	if len(s.pending) > 0 {
		s.merge()
	}
	_, found := slices.BinarySearch(s.keys, liveKey(id))
	return found
}

// Len is the number of distinct keys.
func (s *LiveSet) Len() int {
	s.merge()
	return len(s.keys)
}

// merge folds pending into keys, sorted and without duplicates.
func (s *LiveSet) merge() {
	if len(s.pending) == 0 {
		return
	}
	slices.Sort(s.pending)
	out := make([]uint64, 0, len(s.keys)+len(s.pending))
	i, j := 0, 0
	for i < len(s.keys) || j < len(s.pending) {
		var k uint64
		switch {
		case j == len(s.pending) || (i < len(s.keys) && s.keys[i] <= s.pending[j]):
			k = s.keys[i]
			i++
		default:
			k = s.pending[j]
			j++
		}
		if n := len(out); n == 0 || out[n-1] != k {
			out = append(out, k)
		}
	}
	s.keys, s.pending = out, s.pending[:0]
}

// liveKey is the part of id a LiveSet keeps.
func liveKey(id ID) uint64 { return binary.LittleEndian.Uint64(id[:8]) }
