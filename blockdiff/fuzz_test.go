package blockdiff

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzIndex feeds DecodeIndex arbitrary bytes: it must never panic, and
// whatever it accepts must be consistent and survive a round trip.
func FuzzIndex(f *testing.F) {
	for _, idx := range []*Index{
		testIndex(0, MinChunkSize),
		testIndex(1, MinChunkSize),
		testIndex(7*MinChunkSize+3, MinChunkSize),
		testIndex(3*DefaultChunkSize, DefaultChunkSize),
	} {
		var b bytes.Buffer
		if err := idx.Encode(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	hash := make([]byte, 32)
	f.Add(rawIndex(body(MinChunkSize*2, MinChunkSize, hash, 2, 0, 100, hash)))
	f.Add(rawIndex(body(MinChunkSize*2, MinChunkSize, hash, 1<<40, 0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := DecodeIndex(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := idx.check(); err != nil {
			t.Fatalf("accepted an inconsistent index: %v", err)
		}
		var b bytes.Buffer
		if err := idx.Encode(&b); err != nil {
			t.Fatalf("cannot re-encode an accepted index: %v", err)
		}
		again, err := DecodeIndex(&b)
		if err != nil || !reflect.DeepEqual(again, idx) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
