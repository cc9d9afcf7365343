package manifest

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		es   []*Entry
	}{
		{"empty", nil},
		{"root only", []*Entry{{Type: TypeDir, Mode: 0o755}}},
		{"no root", []*Entry{{Path: "a", Type: TypeFile}, {Path: "a.b", Type: TypeFile}}},
		{"samples", sampleEntries()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.es {
				if err := w.Add(e); err != nil {
					t.Fatal(err)
				}
			}
			if got := w.Count(); got != int64(len(tc.es)) {
				t.Errorf("Count() = %d, want %d", got, len(tc.es))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := decodeAll(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.es) {
				t.Errorf("decoded entries differ\ngot  %v\nwant %v", got, tc.es)
			}
		})
	}
}

// A Reader leaves out the alias names that lvback once recorded from XFS
// (IsXattrAlias), keeping every other attribute; an entry left with none
// has nil Xattrs.
func TestReaderLeavesOutXattrAliases(t *testing.T) {
	acl := []byte{0x02, 0, 0, 0, 0x01, 0, 0x07, 0}
	sgi := []byte{0, 0, 0, 1, 0, 0, 0, 1}
	written := []*Entry{
		{Type: TypeDir, Mode: 0o755, Xattrs: []Xattr{
			{Name: "system.posix_acl_access", Value: acl},
			{Name: "system.posix_acl_default", Value: acl},
			{Name: "trusted.SGI_ACL_DEFAULT", Value: sgi},
			{Name: "trusted.SGI_ACL_FILE", Value: sgi},
			{Name: "trusted.SGI_ACL_FILEx", Value: sgi},
			{Name: "user.a", Value: []byte("1")},
		}},
		{Path: "only-aliases", Type: TypeFile, Xattrs: []Xattr{{Name: "trusted.SGI_ACL_FILE", Value: sgi}}},
	}
	want := []*Entry{
		{Type: TypeDir, Mode: 0o755, Xattrs: []Xattr{
			{Name: "system.posix_acl_access", Value: acl},
			{Name: "system.posix_acl_default", Value: acl},
			{Name: "trusted.SGI_ACL_FILEx", Value: sgi},
			{Name: "user.a", Value: []byte("1")},
		}},
		{Path: "only-aliases", Type: TypeFile},
	}
	got, err := decodeAll(encode(t, written))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded entries differ\ngot  %v\nwant %v", got, want)
	}
}

// TestReaderIsSticky checks that Next keeps returning io.EOF, and that
// entries do not alias the reader's buffer.
func TestReaderIsSticky(t *testing.T) {
	want := sampleEntries()
	r, err := NewReader(bytes.NewReader(encode(t, want)))
	if err != nil {
		t.Fatal(err)
	}
	var got []*Entry
	for e, err := r.Next(); err == nil; e, err = r.Next() {
		got = append(got, e)
	}
	for range 2 {
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("Next after the end = %v, want io.EOF", err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("entries changed after later reads")
	}
}

// badEntries are entries no Writer accepts and no Reader returns, each
// after valid predecessors.
var badEntries = []struct {
	name   string
	before []*Entry
	bad    *Entry
}{
	{"out of order", []*Entry{{Path: "b", Type: TypeFile}}, &Entry{Path: "a", Type: TypeFile}},
	{"slash sorts first", []*Entry{{Path: "a.b", Type: TypeFile}}, &Entry{Path: "a/b", Type: TypeFile}},
	{"duplicate path", []*Entry{{Path: "a", Type: TypeFile}}, &Entry{Path: "a", Type: TypeFile}},
	{"duplicate root", []*Entry{{Type: TypeDir}}, &Entry{Type: TypeDir}},
	{"dot dot", nil, &Entry{Path: "../x", Type: TypeFile}},
	{"inner dot dot", nil, &Entry{Path: "a/../x", Type: TypeFile}},
	{"dot", nil, &Entry{Path: "a/./x", Type: TypeFile}},
	{"absolute", nil, &Entry{Path: "/abs", Type: TypeFile}},
	{"empty component", nil, &Entry{Path: "a//b", Type: TypeFile}},
	{"trailing slash", nil, &Entry{Path: "a/", Type: TypeDir}},
	{"NUL", nil, &Entry{Path: "a\x00b", Type: TypeFile}},
	{"path too long", nil, &Entry{Path: strings.Repeat("p", MaxPathLen+1), Type: TypeFile}},
	{"type zero", nil, &Entry{Path: "a"}},
	{"unknown type", nil, &Entry{Path: "a", Type: TypeSocket + 1}},
	{"type 255", nil, &Entry{Path: "a", Type: 255}},
	{"target too long", nil, &Entry{Path: "a", Type: TypeSymlink, Target: strings.Repeat("t", MaxPathLen+1)}},
	{"hash on a dir", nil, &Entry{Path: "a", Type: TypeDir, Hash: [32]byte{31: 1}}},
	{"hash on a symlink", nil, &Entry{Path: "a", Type: TypeSymlink, Hash: [32]byte{1}}},
	{"link to itself", nil, &Entry{Path: "a", Type: TypeFile, LinkTo: "a"}},
	{"link forward", nil, &Entry{Path: "a", Type: TypeFile, LinkTo: "b"}},
	{"link to a child", nil, &Entry{Path: "a", Type: TypeFile, LinkTo: "a/b"}},
	{"link outside", nil, &Entry{Path: "b", Type: TypeFile, LinkTo: "../a"}},
	{"link absolute", nil, &Entry{Path: "b", Type: TypeFile, LinkTo: "/a"}},
	{"unsorted xattrs", nil, &Entry{Path: "a", Type: TypeFile, Xattrs: []Xattr{{Name: "user.b"}, {Name: "user.a"}}}},
	{"duplicate xattr", nil, &Entry{Path: "a", Type: TypeFile, Xattrs: []Xattr{{Name: "user.a"}, {Name: "user.a"}}}},
	{"empty xattr name", nil, &Entry{Path: "a", Type: TypeFile, Xattrs: []Xattr{{Value: []byte("v")}}}},
	{"xattr name too long", nil, &Entry{Path: "a", Type: TypeFile, Xattrs: []Xattr{{Name: strings.Repeat("x", MaxXattrName+1)}}}},
	{"xattr value too long", nil, &Entry{Path: "a", Type: TypeFile, Xattrs: []Xattr{{Name: "x", Value: make([]byte, MaxXattrValue+1)}}}},
	{"too many xattrs", nil, &Entry{Path: "a", Type: TypeFile, Xattrs: manyXattrs(MaxXattrs + 1)}},
}

// unencodable names the badEntries the format cannot even express, so
// there is nothing for a Reader to reject.
var unencodable = map[string]bool{"hash on a dir": true, "hash on a symlink": true}

func manyXattrs(n int) []Xattr {
	xs := make([]Xattr, n)
	for i := range xs {
		xs[i].Name = "user." + strings.Repeat("z", i/26) + string(rune('a'+i%26))
	}
	return xs
}

func TestAddRejects(t *testing.T) {
	for _, tc := range badEntries {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWriter(new(bytes.Buffer))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.before {
				if err := w.Add(e); err != nil {
					t.Fatalf("valid entry %q: %v", e.Path, err)
				}
			}
			if err := w.Add(tc.bad); err == nil {
				t.Fatal("Add accepted the bad entry")
			}
			if err := w.Add(&Entry{Path: "zzz", Type: TypeFile}); err == nil {
				t.Error("Add works after a failed Add")
			}
			if err := w.Close(); err == nil {
				t.Error("Close works after a failed Add")
			}
		})
	}
}

// TestAddAcceptsLimits checks that the rejections above are not
// off by one: each limit itself is fine.
func TestAddAcceptsLimits(t *testing.T) {
	xs := manyXattrs(MaxXattrs)
	xs[0].Value = make([]byte, MaxXattrValue)
	xs[1].Name = "user." + strings.Repeat("a", MaxXattrName-5)
	es := []*Entry{
		{Path: "a", Type: TypeFile, Xattrs: xs},
		{Path: strings.Repeat("p", MaxPathLen), Type: TypeSymlink, Target: strings.Repeat("t", MaxPathLen),
			LinkTo: "a"},
	}
	got, err := decodeAll(encode(t, es))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, es) {
		t.Error("decoded entries differ")
	}
}

// TestReaderRejectsBadEntries writes each bad entry past the Writer's
// checks, with a correct trailer, so only the Reader's checks can catch it.
func TestReaderRejectsBadEntries(t *testing.T) {
	for _, tc := range badEntries {
		if unencodable[tc.name] {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			es := append(append([]*Entry{}, tc.before...), tc.bad)
			got, err := decodeAll(rawStream(t, rawRecords(es)))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got error %v, want ErrCorrupt", err)
			}
			if len(got) != len(tc.before) {
				t.Errorf("got %d entries before the error, want %d", len(got), len(tc.before))
			}
		})
	}
}
