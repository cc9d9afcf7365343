package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// Decoded entries have nil Xattrs when there are none and a nil Value for
// an empty attribute value; test entries use the same form so that
// reflect.DeepEqual compares them.

// sampleEntries returns entries covering every Type and every field at its
// edges, sorted by Compare.
func sampleEntries() []*Entry {
	long := strings.Repeat("n", 255)
	deep := "deep" // grows to a valid path of exactly MaxPathLen bytes
	for len(deep)+1+len(long) <= MaxPathLen {
		deep += "/" + long
	}
	deep += "/" + strings.Repeat("d", MaxPathLen-len(deep)-1)
	es := []*Entry{
		{Path: "", Type: TypeDir, Mode: 0o755, Mtime: Time{1700000000, 123456789}, Ctime: Time{1700000001, 0}, Inode: 2},
		{Path: "dir", Type: TypeDir, Mode: 0o1777, UID: 1000, GID: 100, Inode: 3},
		{Path: "dir/file with spaces.txt", Type: TypeFile, Mode: 0o644, Size: 12345, Inode: 4,
			Hash: fullHash(1), Xattrs: []Xattr{
				{Name: "security.capability", Value: []byte{0x01, 0x00, 0x00, 0x02, 0xff}},
				{Name: "user.empty"},
				{Name: "user.nul", Value: []byte{0, 0, 0}},
			}},
		{Path: "dir/hardlink", Type: TypeFile, Mode: 0o644, Size: 12345, Inode: 4,
			LinkTo: "dir/file with spaces.txt", Hash: fullHash(1)},
		{Path: "dir/new\nline", Type: TypeFile, Mode: 0o4755, Inode: 5},
		{Path: "dir/\xff\xfe not utf-8", Type: TypeFile, Mode: 0o600, Size: 1, Hash: fullHash(2)},
		{Path: "dir/" + long, Type: TypeFile, Mode: 0o2644, Size: 7, Hash: fullHash(3)},
		{Path: "dir/link", Type: TypeSymlink, Mode: 0o777, Target: "../../etc/passwd\n\xff"},
		{Path: "dir/fifo", Type: TypeFIFO, Mode: 0o600},
		{Path: "dev", Type: TypeDir, Mode: 0o755},
		{Path: "dev/sda", Type: TypeBlock, Mode: 0o660, Rdev: 8 << 8},
		{Path: "dev/tty", Type: TypeChar, Mode: 0o666, Rdev: 5 << 8, GID: 5},
		{Path: "run.sock", Type: TypeSocket, Mode: 0o777},
		{Path: "old", Type: TypeFile, Mode: 0o7777, UID: math.MaxUint32, GID: math.MaxUint32,
			Size: math.MaxInt64, Mtime: Time{-1, 999999999}, Ctime: Time{math.MinInt64, 999999999},
			Inode: math.MaxUint64, Rdev: math.MaxUint64, Hash: fullHash(4)},
		{Path: "far-future", Type: TypeFile, Mtime: Time{math.MaxInt64, 999999999}, Ctime: Time{-62135596800, 0}},
		{Path: "1600", Type: TypeFile, Mtime: Time{-11661710400, 500000000}, Ctime: Time{math.MinInt64, 0}},
		{Path: "2446", Type: TypeDir, Mtime: Time{15021255845, 999999999}, Ctime: Time{math.MaxInt64, 0}},
		{Path: "deep", Type: TypeDir},
		{Path: deep, Type: TypeSymlink, Target: strings.Repeat("t", MaxPathLen)},
		{Path: "acl", Type: TypeDir, Mode: 0o750, Xattrs: []Xattr{
			{Name: "system.posix_acl_access", Value: bytes.Repeat([]byte{0x02, 0, 0, 0}, MaxXattrValue/4)},
			{Name: "system.posix_acl_default", Value: []byte{0x02, 0, 0, 0, 0x01, 0, 0x07, 0}},
			{Name: "u." + strings.Repeat("x", MaxXattrName-2)},
		}},
	}
	slices.SortFunc(es, func(a, b *Entry) int { return Compare(a.Path, b.Path) })
	return es
}

// fullHash returns a hash with no zero byte, so a dropped byte shows.
func fullHash(seed byte) (h [32]byte) {
	for i := range h {
		h[i] = seed*32 + byte(i) + 1
	}
	return h
}

// splitmix64 is a cheap deterministic mixer for synthetic metadata.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// genEntry returns entry i of a synthetic volume: the root, then
// directories of 999 photos each, in Compare order for increasing i.
func genEntry(i int) *Entry {
	if i == 0 {
		return &Entry{Path: "", Type: TypeDir, Mode: 0o755, Inode: 2}
	}
	d, f := (i-1)/1000, (i-1)%1000
	r := splitmix64(uint64(i))
	mtime := Time{Sec: 1600000000 + int64(i), Nsec: uint32(r % 1e9)}
	e := &Entry{Path: fmt.Sprintf("home/alice/Pictures/%05d", d), Type: TypeDir, Mode: 0o755,
		UID: 1000, GID: 1000, Mtime: mtime, Ctime: mtime, Inode: 1e6 + uint64(i)}
	if f == 0 {
		return e
	}
	e.Path += fmt.Sprintf("/IMG_%04d.jpg", f)
	e.Type, e.Mode, e.Size = TypeFile, 0o644, int64(r%(8<<20))
	for j := 0; j < 4; j++ {
		v := splitmix64(r + uint64(j))
		for k := 0; k < 8; k++ {
			e.Hash[j*8+k] = byte(v >> (8 * k))
		}
	}
	return e
}

// encode writes es through NewWriter.
func encode(t testing.TB, es []*Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeAll reads every entry of data; err is nil only if the reader ended
// with io.EOF.
func decodeAll(data []byte) ([]*Entry, error) { return decodeFrom(bytes.NewReader(data)) }

// decodeFrom is decodeAll for any reader.
func decodeFrom(src io.Reader) ([]*Entry, error) {
	r, err := NewReader(src)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var es []*Entry
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return es, nil
		}
		if err != nil {
			return es, err
		}
		es = append(es, e)
	}
}

// rawStream wraps records (the decompressed stream) in a valid header and
// zstd frame, bypassing every check of Writer.
func rawStream(t testing.TB, records []byte) []byte {
	t.Helper()
	return rawStreamVersion(t, version, records)
}

// rawStreamVersion is rawStream with a header of format version v.
func rawStreamVersion(t testing.TB, v byte, records []byte) []byte {
	t.Helper()
	enc, err := rawEncoder()
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(records, append([]byte(magic), v))
}

// rawEncoder is shared, as creating an encoder costs more than a fuzz
// iteration; EncodeAll is safe for concurrent use.
var rawEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
})

// rawRecords encodes es without any check, followed by a correct trailer.
func rawRecords(es []*Entry) []byte {
	recs, sum := entryRecords(es)
	return appendRecord(recs, appendTrailer(nil, int64(len(es)), sum))
}

// entryRecords encodes es without any check and returns the records and
// their sum as the trailer holds it.
func entryRecords(es []*Entry) (recs []byte, sum uint64) {
	d := xxhash.New()
	prev := ""
	for _, e := range es {
		rec := appendRecord(nil, appendEntry(nil, e, prev))
		d.Write(rec)
		recs = append(recs, rec...)
		prev = e.Path
	}
	return recs, d.Sum64()
}

// v1Fixture returns testdata/v1.manifest, written by the version-1 Writer.
func v1Fixture(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/v1.manifest")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// records decompresses a manifest produced by a Writer.
func records(t testing.TB, data []byte) []byte {
	t.Helper()
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	out, err := dec.DecodeAll(data[headerLen:], nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
