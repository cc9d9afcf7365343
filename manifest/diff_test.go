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
