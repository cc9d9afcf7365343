package blockdiff

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
	f.Add(hugeIndexFile(true)) // 1 PiB of holes in 2 KB, with a forged hash
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
		if err != nil {
			t.Fatalf("round trip failed: %v", err)
		}
		if err := sameEntries(again, idx); err != nil {
			t.Fatalf("round trip changed the index: %v", err)
		}
	})
}

// sameEntries reports how two indexes differ, reading both in step (an
// accepted index may be one of 2^24 entries: never in memory).
func sameEntries(a, b *Index) error {
	if a.Size != b.Size || a.ChunkSize != b.ChunkSize || a.Hash != b.Hash {
		return fmt.Errorf("headers differ: %d/%d/%s and %d/%d/%s", a.Size, a.ChunkSize, a.Hash, b.Size, b.ChunkSize, b.Hash)
	}
	ra, err := a.entries(true)
	if err != nil {
		return err
	}
	defer ra.close()
	rb, err := b.entries(true)
	if err != nil {
		return err
	}
	defer rb.close()
	for {
		i, ea, erra := ra.next()
		_, eb, errb := rb.next()
		if errors.Is(erra, io.EOF) && errors.Is(errb, io.EOF) {
			return nil
		}
		if erra != nil || errb != nil {
			return fmt.Errorf("entry %d: %v, %v", i, erra, errb)
		}
		if ea != eb {
			return fmt.Errorf("entry %d: %+v and %+v", i, ea, eb)
		}
	}
}
