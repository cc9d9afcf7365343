package manifest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func encodeReader(t *testing.T, es []*Entry) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(encode(t, es)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDiffKnownChanges(t *testing.T) {
	dir := func(p string) *Entry { return &Entry{Path: p, Type: TypeDir, Mode: 0o755} }
	file := func(p string, h byte) *Entry {
		return &Entry{Path: p, Type: TypeFile, Mode: 0o644, Size: 1, Hash: [32]byte{h}}
	}
	chmod := file("chmod", 1)
	chmod.Mode = 0o600
	owner := file("owner", 1)
	owner.UID = 7
	xa := file("xattr", 1)
	xa.Xattrs = []Xattr{{Name: "user.x", Value: []byte("1")}}
	same := file("same", 1)
	same.Inode, same.Ctime = 99, Time{99, 1} // source-only fields do not count
	old := []*Entry{dir(""), file("a.b", 1), file("a/x", 1), file("chmod", 1), file("content", 1), file("owner", 1), file("removed", 1), file("same", 1), file("xattr", 1)}
	new := []*Entry{dir(""), dir("a"), file("a/x", 1), file("a.b", 1), chmod, file("content", 2), owner, same, xa, file("zz-added", 1)}
	var got []string
	err := Diff(encodeReader(t, sortEntries(old)), encodeReader(t, sortEntries(new)), func(c Change) error {
		got = append(got, fmt.Sprintf("%s %s %s", c.Kind, c.Path, strings.Join(c.What, ",")))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"added a ", "changed chmod mode", "changed content content",
		"changed owner owner", "removed removed ", "changed xattr xattrs", "added zz-added ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// sortEntries orders entries by Compare (the tests list them loosely).
func sortEntries(es []*Entry) []*Entry {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && Compare(es[j-1].Path, es[j].Path) > 0; j-- {
			es[j-1], es[j] = es[j], es[j-1]
		}
	}
	return es
}

func TestDiffExcluded(t *testing.T) {
	dir := func(p string) *Entry { return &Entry{Path: p, Type: TypeDir, Mode: 0o755} }
	file := func(p string) *Entry { return &Entry{Path: p, Type: TypeFile, Mode: 0o644} }
	entries := func(es ...*Entry) *Reader { return encodeReader(t, sortEntries(es)) }
	// old excluded "b" (a directory) and "x.o"; new excludes "a/c" (a
	// directory), "a/d.o", "a.o" and "z", and "gone" was deleted.
	old := entries(dir(""), dir("a"), dir("a/c"), file("a/c/1"), dir("a/c/2"), file("a/c/2/3"), file("a/d.o"), file("a/e"),
		file("a.o"), file("gone"), file("z"))
	oldExcl := entries(dir("b"), file("x.o"))
	new := entries(dir(""), dir("a"), file("a/e"), dir("b"), file("b/1"), dir("b/2"), file("b/2/3"), file("new"), file("x.o"))
	newExcl := entries(dir("a/c"), file("a/d.o"), file("a.o"), file("z"))
	var got []string
	err := DiffExcluded(old, new, oldExcl, newExcl, func(c Change) error {
		if c.Kind != "changed" {
			got = append(got, c.Kind+" "+c.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"excluded a/c", "excluded a/c/1", "excluded a/c/2", "excluded a/c/2/3", "excluded a/d.o",
		"excluded a.o", "included b", "included b/1", "included b/2", "included b/2/3", "removed gone",
		"added new", "included x.o", "excluded z"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDiffExcludedWithoutLists(t *testing.T) {
	file := func(p string) *Entry { return &Entry{Path: p, Type: TypeFile, Mode: 0o644} }
	var got []string
	err := DiffExcluded(encodeReader(t, []*Entry{file("a")}), encodeReader(t, []*Entry{file("b")}), nil, nil,
		func(c Change) error { got = append(got, c.Kind+" "+c.Path); return nil })
	if err != nil || strings.Join(got, ",") != "removed a,added b" {
		t.Fatalf("%v %q", err, got)
	}
}
