package manifest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestTruncation(t *testing.T) {
	data := encode(t, sampleEntries())
	for n := range len(data) {
		if _, err := decodeAll(data[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d/%d bytes: got %v, want ErrCorrupt", n, len(data), err)
		}
	}
}

// TestBitFlips flips bits everywhere in a manifest. A flip must give an
// error, except where zstd ignores the bit (the frame header's unused bit,
// don't-care bits of entropy tables): then the entries must be identical.
// A silently different entry list is the failure this test is for.
func TestBitFlips(t *testing.T) {
	want := sampleEntries()
	data := encode(t, want)
	accepted, tried := 0, 0
	for i := range data {
		for _, mask := range []byte{0x01, 0x10, 0x80, 0xff} {
			c := bytes.Clone(data)
			c[i] ^= mask
			tried++
			got, err := decodeAll(c)
			if err != nil {
				continue
			}
			accepted++
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("byte %d ^ %#x: decoded different entries without error", i, mask)
			}
		}
	}
	t.Logf("%d of %d flips decoded to the same entries", accepted, tried)
	if accepted*100 > tried {
		t.Errorf("%d of %d flips accepted; far more than zstd's don't-care bits explain", accepted, tried)
	}
}

// TestTamperedRecords feeds record streams that zstd compresses and checks
// cleanly, so only the manifest's own checks can catch them.
func TestTamperedRecords(t *testing.T) {
	es := sampleEntries()
	recs, sum := entryRecords(es)
	n := int64(len(es))
	trailer := appendRecord(nil, appendTrailer(nil, n, sum))
	changed := sampleEntries()
	changed[3].Mode ^= 0o2
	changedRecs, _ := entryRecords(changed)
	fewer, fewerSum := entryRecords(es[:n-1])
	dirA := dirPayload("a", []byte{0})

	for _, tc := range []struct {
		name, want string
		recs       []byte
	}{
		{"no trailer", "truncated", recs},
		{"no records", "truncated", nil},
		{"changed entry", "checksum mismatch", cat(changedRecs, trailer)},
		{"dropped entry", "trailer counts", cat(fewer, trailer)},
		{"dropped entry, count kept right", "checksum mismatch",
			cat(fewer, appendRecord(nil, appendTrailer(nil, n-1, sum)))},
		{"dropped entry, sum kept right", "trailer counts",
			cat(fewer, appendRecord(nil, appendTrailer(nil, n, fewerSum)))},
		{"record after trailer", "after the trailer", cat(recs, trailer, appendRecord(nil, dirA))},
		{"byte after trailer", "after the trailer", cat(recs, trailer, []byte{0})},
		{"two trailers", "after the trailer", cat(recs, trailer, trailer)},
		{"trailer too long", "after the trailer", cat(recs, appendRecord(nil, append(appendTrailer(nil, n, sum), 0)))},
		{"trailer too short", "payload too short", cat(recs, appendRecord(nil, appendTrailer(nil, n, sum)[:9]))},
		{"unknown tag", "unknown tag", appendRecord(nil, []byte{0x03})},
		{"empty record", "length 0", []byte{0}},
		{"record too long", "length", binary.AppendUvarint(nil, maxEntryPayload+1)},
		{"length overflows", "overflow", bytes.Repeat([]byte{0xff}, 11)},
		{"cut length", "truncated", []byte{0x80}},
		{"cut payload", "truncated", appendRecord(nil, dirA)[:5]},
		{"shared prefix too long", "shared prefix", appendRecord(nil, []byte{tagEntry, byte(TypeDir), 1, 0})},
		{"suffix length lies", "over the limit", appendRecord(nil, binary.AppendUvarint([]byte{tagEntry, byte(TypeDir), 0}, 1<<40))},
		{"mode over 32 bits", "32 bits", appendRecord(nil, dirPayload("a", binary.AppendUvarint(nil, 1<<32)))},
		{"bad varint", "bad uvarint", appendRecord(nil, dirPayload("a", bytes.Repeat([]byte{0x80}, 10)))},
		{"entry too long", "after the entry", appendRecord(nil, append(dirA, 0))},
		{"entry too short", "bad uvarint", appendRecord(nil, dirA[:len(dirA)-1])},
		{"hash cut", "payload too short", appendRecord(nil, appendEntry(nil, &Entry{Path: "f", Type: TypeFile}, "")[:20])},
		{"xattr count lies", "xattrs", appendRecord(nil, binary.AppendUvarint(dirA[:len(dirA)-1], MaxXattrs+1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll(rawStream(t, tc.recs))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrCorrupt mentioning %q", err, tc.want)
			}
		})
	}
}

// dirPayload returns the payload of a directory entry at path, first in
// the manifest, with its Mode field encoded as mode and every other field
// zero.
func dirPayload(path string, mode []byte) []byte {
	p := appendString([]byte{tagEntry, byte(TypeDir), 0}, path)
	p = append(p, mode...)
	return append(p, make([]byte, 12)...) // UID to the xattr count; a time is two fields
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestBadHeader(t *testing.T) {
	valid := encode(t, sampleEntries()[:3])
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte("LVBK")},
		{"no version", []byte(magic)},
		{"bad magic", append([]byte("LVBKMNX"), valid[7:]...)},
		{"version 0", append([]byte(magic+"\x00"), valid[8:]...)},
		{"version 3", append([]byte(magic+"\x03"), valid[8:]...)},
		{"header only", valid[:headerLen]},
		{"not zstd", append(valid[:headerLen:headerLen], "plain text, not zstd"...)},
		{"extra frame", cat(valid, rawStream(t, appendRecord(nil, dirPayload("z", []byte{0})))[headerLen:])},
		{"garbage after frame", cat(valid, []byte("garbage"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeAll(tc.data); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestLyingLength checks that a record length is not trusted for
// allocation: a record claiming 60 MB in a stream of a few bytes must fail
// without allocating anything near 60 MB.
func TestLyingLength(t *testing.T) {
	const claimed = 60 << 20
	data := rawStream(t, binary.AppendUvarint(nil, claimed))
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = r.Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > claimed/10 {
		t.Errorf("allocated %d bytes for a record claiming %d", n, claimed)
	}
}

// failingReader returns err once n bytes have been read.
type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

var _ io.Reader = (*failingReader)(nil)

// TestReadErrorIsNotCorruption checks that an I/O error of the source is
// reported as itself, not as ErrCorrupt, wherever it happens.
func TestReadErrorIsNotCorruption(t *testing.T) {
	errDisk := errors.New("disk on fire")
	data := encode(t, sampleEntries())
	for _, n := range []int{0, 3, headerLen, headerLen + 5, len(data) / 2, len(data) - 1} {
		_, err := decodeFrom(&failingReader{r: bytes.NewReader(data), n: n, err: errDisk})
		if !errors.Is(err, errDisk) || errors.Is(err, ErrCorrupt) {
			t.Errorf("failing after %d bytes: got %v, want only %v", n, err, errDisk)
		}
	}
}
