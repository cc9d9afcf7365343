package blockdiff

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// A LiveSet answers like a map of the ids added, over several merges and
// with many repeated references.
func TestLiveSetIsASet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s LiveSet
	want := map[ID]bool{}
	var ids []ID
	for i := 0; i < 300_000; i++ {
		var id ID
		if len(ids) > 0 && rng.IntN(3) == 0 {
			id = ids[rng.IntN(len(ids))] // a chunk another backup also uses
		} else {
			for j := range id {
				id[j] = byte(rng.Uint32())
			}
			ids = append(ids, id)
		}
		s.Add(id)
		want[id] = true
		if i%100_000 == 0 && !s.Has(id) {
			t.Fatalf("id %d not found right after Add", i)
		}
	}
	if s.Len() != len(want) {
		t.Fatalf("Len = %d, want %d distinct", s.Len(), len(want))
	}
	for id := range want {
		if !s.Has(id) {
			t.Fatalf("%x added but not found", id[:8])
		}
	}
	for i := 0; i < 100_000; i++ {
		var id ID
		for j := range id {
			id[j] = byte(rng.Uint32())
		}
		if s.Has(id) && !want[id] {
			t.Fatalf("%x never added but found", id[:8])
		}
	}
}

// Memory follows the distinct chunks at 8 bytes each (plus merge buffers),
// not the references: 30 backups of the same 1,000,000 chunks stay within
// a few tens of MB.
func TestLiveSetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 30 backups of 1,000,000 chunks")
	}
	const chunks, backups = 1_000_000, 30
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var s LiveSet
	for b := 0; b < backups; b++ {
		for i := uint64(0); i < chunks; i++ {
			var id ID
			id[0], id[1], id[2], id[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
			s.Add(id)
		}
	}
	if s.Len() != chunks {
		t.Fatalf("Len = %d", s.Len())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if live := int64(after.HeapAlloc) - int64(before.HeapAlloc); live > 48<<20 {
		t.Fatalf("%d MB live for %d distinct chunks", live>>20, chunks)
	}
	runtime.KeepAlive(&s)
}
