package blockdiff

import (
	"math/rand/v2"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

func TestEncodeStoresIncompressibleRawAndCompressesTheRest(t *testing.T) {
	c, err := newCodec(1, newMemStore())
	testsys.Must(t, err)
	defer c.close()
	r := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	text := make([]byte, 2*mib)
	fillText(text, r)
	halfZero := random(2 * mib)
	clear(halfZero[mib:]) // a file's data, then the zeros after its end
	mixed := random(2 * mib)
	fillText(mixed[600<<10:900<<10], r) // text that only some samples see
	cases := []struct {
		name string
		raw  []byte
		flag byte
	}{
		{"random", random(2 * mib), flagRaw},
		{"random below the sampling size", random(sampleMinChunk - 1), flagRaw}, // raw after a full attempt
		{"text", text, flagZstd},
		{"random then zeros", halfZero, flagZstd},
		{"random with text inside", mixed, flagZstd},
	}
	for _, tc := range cases {
		stored := c.encode(nil, tc.raw)
		if stored[0] != tc.flag {
			t.Errorf("%s: flag %#x, want %#x", tc.name, stored[0], tc.flag)
		}
		if tc.flag == flagZstd && len(stored) >= len(tc.raw) {
			t.Errorf("%s: stored %d bytes for %d raw", tc.name, len(stored), len(tc.raw))
		}
		got, err := c.decode(make([]byte, len(tc.raw)), stored, len(tc.raw), sumID(tc.raw))
		if err != nil || string(got) != string(tc.raw) {
			t.Errorf("%s: round trip: %v", tc.name, err)
		}
	}
}
