package manifest

import (
	"errors"
	"reflect"
	"testing"
)

// fuzzSeeds are valid manifests of several shapes, all small: the fuzzer
// mutates and minimizes big inputs slowly.
func fuzzSeeds(t testing.TB) [][]byte {
	var small []*Entry
	for _, e := range sampleEntries() {
		if len(appendEntry(nil, e, "")) < 512 {
			small = append(small, e)
		}
	}
	return [][]byte{
		encode(t, nil),
		encode(t, []*Entry{{Type: TypeDir, Mode: 0o755}}),
		encode(t, small),
		encode(t, genEntries(4)),
	}
}

// checkDecode is the body of both fuzz targets: decoding data must not
// panic, must fail only with ErrCorrupt (data comes from memory, so there
// are no I/O errors), and whatever decodes must encode and decode again to
// the same entries.
func checkDecode(t *testing.T, data []byte) {
	es, err := decodeAll(data)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	again, err := decodeAll(encode(t, es))
	if err != nil {
		t.Fatalf("re-encoded entries do not decode: %v", err)
	}
	if !reflect.DeepEqual(again, es) {
		t.Fatal("re-encoded entries decode differently")
	}
}

// FuzzReader feeds arbitrary bytes to the Reader.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add(v1Fixture(f))
	f.Add([]byte{})
	f.Add([]byte(magic + "\x01"))
	f.Add([]byte(magic + "\x02"))
	f.Add([]byte(magic + "\x01\x28\xb5\x2f\xfd\x00\x00garbage"))
	f.Add(rawStream(f, rawRecords([]*Entry{{Path: "b", Type: TypeFile}, {Path: "a", Type: TypeFile}})))
	f.Fuzz(checkDecode)
}

// FuzzRecords fuzzes the decompressed record stream: the fuzzer's bytes
// are compressed into a valid zstd frame, so mutations reach the record
// parser instead of dying in zstd's checksum. Each input is read as
// version 2 and as version 1.
func FuzzRecords(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(records(f, s))
	}
	f.Add(records(f, v1Fixture(f)))
	f.Add([]byte{})
	f.Add(rawRecords([]*Entry{{Path: "a", Type: TypeFile, LinkTo: "b"}}))
	f.Fuzz(func(t *testing.T, recs []byte) {
		checkDecode(t, rawStream(t, recs))
		checkDecode(t, rawStreamVersion(t, version1, recs))
	})
}
