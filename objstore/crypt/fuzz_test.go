package crypt

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzStore returns a Store with a fixed master key (no underlying store:
// the fuzz targets only seal and open).
func fuzzStore() *Store {
	var master [32]byte
	copy(master[:], "fuzzing master key, 32 bytes....")
	return newStore(nil, master, "")
}

// Opening arbitrary bytes never panics and never succeeds, except for
// exactly the bytes sealObject produced for that name.
func FuzzOpenObject(f *testing.F) {
	st := fuzzStore()
	sealed := map[string]string{} // sealed bytes → their name
	for i, tc := range []struct{ name, content string }{{"a", ""}, {"chunks/ab/cd", "some content"}, {"index", "x"}} {
		b := sealObjectNonce(st.content, tc.name, []byte(tc.content), [24]byte{byte(i)})
		sealed[string(b)] = tc.name
		f.Add(tc.name, b)
		f.Add("other", b)
		f.Add(tc.name, b[:len(b)-1])
	}
	f.Add("a", []byte{})
	f.Add("a", []byte{objectVersion})
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		content, err := openObject(st.content, name, data)
		if err != nil {
			if !errors.Is(err, ErrAuth) || content != nil {
				t.Fatalf("openObject failed with %v and %d bytes, want ErrAuth and none", err, len(content))
			}
			return
		}
		if n, ok := sealed[string(data)]; !ok || n != name {
			t.Fatalf("openObject(%q) accepted %d bytes it never sealed for that name", name, len(data))
		}
		again, err := openObject(st.content, name, data)
		if err != nil || !bytes.Equal(again, content) {
			t.Fatal("openObject is not deterministic")
		}
	})
}

// Opening an arbitrary underlying name never panics, and succeeds only
// for a name sealName produced, which it maps back to its plaintext.
func FuzzOpenName(f *testing.F) {
	st := fuzzStore()
	sealed := map[string]string{}
	for _, n := range []string{"a", "chunks/ab/cd", "backups/vol/1/index", "x/" + string(bytes.Repeat([]byte("y"), MaxNameComponent))} {
		u, err := st.names.sealName(n)
		if err != nil {
			f.Fatal(err)
		}
		for i := range n { // the parent directories' names open too
			if n[i] == '/' {
				pu, _ := st.names.sealName(n[:i])
				sealed[pu] = n[:i]
			}
		}
		sealed[u] = n
		f.Add(u)
		f.Add(u + "a")
		f.Add(u[:len(u)-1])
	}
	f.Add("data/")
	f.Add("data//")
	f.Add("keys/a")
	f.Fuzz(func(t *testing.T, under string) {
		name, err := st.names.openName(under)
		if err != nil {
			if !errors.Is(err, ErrAuth) || name != "" {
				t.Fatalf("openName(%q) = %q, %v; want ErrAuth and no name", under, name, err)
			}
			return
		}
		if want, ok := sealed[under]; !ok || want != name {
			t.Fatalf("openName(%q) = %q; it never sealed that", under, name)
		}
	})
}
