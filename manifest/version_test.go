package manifest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestExtremeTimesRoundTrip writes and reads back every int64 second at its
// edges with the largest nanoseconds.
func TestExtremeTimesRoundTrip(t *testing.T) {
	var es []*Entry
	for i, tm := range []Time{
		{math.MinInt64, 0}, {math.MinInt64, 999999999}, {math.MaxInt64, 0}, {math.MaxInt64, 999999999},
		{-1, 999999999}, {0, 999999999}, {-11661710400, 1}, {15032385535, 999999999},
	} {
		es = append(es, &Entry{Path: string(rune('a' + i)), Type: TypeFile, Mtime: tm,
			Ctime: Time{^tm.Sec, 999999999 - tm.Nsec}})
	}
	es = append([]*Entry{{Type: TypeDir, Mtime: Time{math.MaxInt64, 999999999}, Ctime: Time{math.MinInt64, 999999999}}}, es...)
	got, err := decodeAll(encode(t, es))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, es) {
		for i := range min(len(got), len(es)) {
			t.Logf("got %+v %+v, want %+v %+v", got[i].Mtime, got[i].Ctime, es[i].Mtime, es[i].Ctime)
		}
		t.Fatal("extreme times changed in a round trip")
	}
}

// TestReadVersion1 decodes testdata/v1.manifest, written by the version-1
// Writer (commit bf4d667, TestWriteV1Fixture), whose times were int64
// nanoseconds: each must come back exactly, as seconds and nanoseconds.
// Written again, the entries make a version-2 manifest that reads the same.
func TestReadVersion1(t *testing.T) {
	data := v1Fixture(t)
	if data[len(magic)] != version1 {
		t.Fatalf("fixture has version %d", data[len(magic)])
	}
	h := fullHash(1)
	want := []*Entry{
		{Path: "", Type: TypeDir, Mode: 0o755, Mtime: Time{1700000000, 123456789}, Ctime: Time{1700000001, 0}, Inode: 2},
		{Path: "a", Type: TypeFile, Mode: 0o644, UID: 1000, GID: 100, Size: 5,
			Mtime: Time{-1, 999999999}, Ctime: Time{-9223372037, 145224192}, // -1 ns, math.MinInt64 ns
			Inode: 3, Hash: h, Xattrs: []Xattr{{Name: "user.k", Value: []byte("v")}}},
		{Path: "a2", Type: TypeFile, Mode: 0o644, UID: 1000, GID: 100, Size: 5,
			Mtime: Time{-1, 999999999}, Ctime: Time{-9223372037, 145224192}, Inode: 3, LinkTo: "a", Hash: h},
		{Path: "b", Type: TypeSymlink, Mode: 0o777, Target: "a", Inode: 4,
			Mtime: Time{9223372036, 854775807}, Ctime: Time{-62135597, 200000000}}, // math.MaxInt64 ns, -62135596800000000 ns
		{Path: "c", Type: TypeDir, Mode: 0o700, Mtime: Time{-1, 0}, Ctime: Time{-2, 999999999}, Inode: 5},
		{Path: "c/fifo", Type: TypeFIFO, Mode: 0o600, Mtime: Time{0, 0}, Ctime: Time{0, 999999999}, Inode: 6},
		{Path: "c/tty", Type: TypeChar, Mode: 0o620, Mtime: Time{0, 1}, Ctime: Time{1, 0}, Inode: 7, Rdev: 4<<8 | 1},
	}
	got, err := decodeAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		for _, e := range got {
			t.Logf("%+v", *e)
		}
		t.Fatal("version-1 fixture decodes differently")
	}
	again := encode(t, got)
	if again[len(magic)] != version {
		t.Fatalf("Writer wrote version %d", again[len(magic)])
	}
	if back, err := decodeAll(again); err != nil || !reflect.DeepEqual(back, want) {
		t.Fatalf("rewritten as version %d: %v", version, err)
	}
}

// TestNsecOutOfRange: nanoseconds of 1e9 or more are refused by Add and
// rejected by the Reader, in the mtime and in the ctime.
func TestNsecOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		e          Entry
	}{
		{"mtime 1e9", "nanoseconds", Entry{Type: TypeDir, Mtime: Time{0, 1e9}}},
		{"ctime 1e9", "nanoseconds", Entry{Type: TypeDir, Ctime: Time{-1, 1e9}}},
		{"mtime max uint32", "nanoseconds", Entry{Type: TypeDir, Mtime: Time{math.MaxInt64, math.MaxUint32}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWriter(&bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Add(&tc.e); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Add: %v, want an error mentioning %q", err, tc.want)
			}
			_, err = decodeAll(rawStream(t, rawRecords([]*Entry{&tc.e})))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Reader: %v, want ErrCorrupt mentioning %q", err, tc.want)
			}
		})
	}
	// Nanoseconds that do not even fit the uint32 of Time.Nsec.
	p := appendString([]byte{tagEntry, byte(TypeDir), 0}, "")
	p = append(p, 0, 0, 0, 0, 0)       // Mode, UID, GID, Size, Mtime.Sec
	p = binary.AppendUvarint(p, 1<<32) // Mtime.Nsec
	p = append(p, make([]byte, 7)...)  // Ctime to the xattr count
	recs := appendRecord(nil, p)
	_, err := decodeAll(rawStream(t, recs))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "32 bits") {
		t.Errorf("Nsec 1<<32: %v, want ErrCorrupt mentioning 32 bits", err)
	}
}
