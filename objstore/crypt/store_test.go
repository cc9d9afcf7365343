package crypt_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/crypt"
	"github.com/lvback/lvback/objstore/objstoretest"
	"github.com/zeebo/blake3"
)

func TestConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		_, _, st := initStore(t, password("conformance"))
		return st
	})
}

// Objects put through one Store read back through another opened with
// the same secret, and the underlying store holds only keys/ and data/.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	_, d, st := initStore(t, password("pw"))
	if err := st.Put(ctx, "backups/vol/1/index", []byte("index data")); err != nil {
		t.Fatal(err)
	}
	st2, err := crypt.Open(ctx, d, password("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st2.Get(ctx, "backups/vol/1/index"); err != nil || string(got) != "index data" {
		t.Fatalf("Get after Open = %q, %v", got, err)
	}
	if st2.ChunkIDKey() != st.ChunkIDKey() {
		t.Error("ChunkIDKey differs between two opens of one repository")
	}
	err = d.List(ctx, "", func(fi objstore.Info) error {
		if !strings.HasPrefix(fi.Name, "keys/") && !strings.HasPrefix(fi.Name, "data/") {
			t.Errorf("underlying object %s outside keys/ and data/", fi.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The same data gets different chunk ids in two repositories.
func TestChunkIDKeyPerRepository(t *testing.T) {
	_, _, a := initStore(t, password("pw"))
	_, _, b := initStore(t, password("pw"))
	ka, kb := a.ChunkIDKey(), b.ChunkIDKey()
	id := func(k [32]byte) []byte {
		h, err := blake3.NewKeyed(k[:])
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte("same data"))
		return h.Sum(nil)
	}
	if bytes.Equal(id(ka), id(kb)) {
		t.Error("the same data has the same chunk id in two repositories")
	}
}

// Names: the longest component is accepted and its encrypted form stays
// short; a longer one is refused with a message naming the limit.
func TestNameLength(t *testing.T) {
	ctx := context.Background()
	_, _, st := initStore(t, password("pw"))
	long := strings.Repeat("x", crypt.MaxNameComponent)
	if err := st.Put(ctx, "dir/"+long, []byte("x")); err != nil {
		t.Fatalf("Put of a %d-byte component: %v", len(long), err)
	}
	u, err := st.UnderNameForTest("dir/" + long)
	if err != nil {
		t.Fatal(err)
	}
	for c := range strings.SplitSeq(u, "/") {
		if len(c) > 200 {
			t.Errorf("encrypted component of %d characters: %s", len(c), c)
		}
	}
	err = st.Put(ctx, "dir/"+long+"y", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "at most 100") {
		t.Errorf("Put of a %d-byte component: %v, want a refusal naming the limit", len(long)+1, err)
	}
}

// Equal components under different parents encrypt differently, and the
// same name always encrypts the same.
func TestNameEncryption(t *testing.T) {
	_, _, st := initStore(t, password("pw"))
	a1, _ := st.UnderNameForTest("a/index")
	a2, _ := st.UnderNameForTest("a/index")
	b, _ := st.UnderNameForTest("b/index")
	if a1 != a2 {
		t.Errorf("one name encrypts as %s and %s", a1, a2)
	}
	if last(a1) == last(b) {
		t.Errorf("index under a and under b encrypt alike: %s", last(a1))
	}
	for _, u := range []string{a1, b} {
		if !objstore.ValidName(u) || !strings.HasPrefix(u, "data/") {
			t.Errorf("encrypted name %s is not a valid name under data/", u)
		}
	}
}

func last(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// List with a prefix that ends mid-component filters the decrypted names.
func TestListMidComponent(t *testing.T) {
	ctx := context.Background()
	_, _, st := initStore(t, password("pw"))
	for _, n := range []string{"chunks/ab/1", "chunks/abc/2", "chunks/b/3", "top"} {
		if err := st.Put(ctx, n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, want := range map[string][]string{
		"chunks/ab":  {"chunks/ab/1", "chunks/abc/2"},
		"chunks/ab/": {"chunks/ab/1"},
		"t":          {"top"},
		"chunks/x/":  nil,
	} {
		var got []string
		err := st.List(ctx, prefix, func(fi objstore.Info) error { got = append(got, fi.Name); return nil })
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, %v; want %q", prefix, got, err, want)
		}
	}
	if err := st.List(ctx, "a//b/", func(objstore.Info) error { return nil }); err == nil {
		t.Error("List of an invalid prefix succeeded")
	}
}

// Get and Stat of a missing object name the plaintext name, not the
// encrypted one.
func TestNotExistNamesObject(t *testing.T) {
	ctx := context.Background()
	_, _, st := initStore(t, password("pw"))
	_, err := st.Get(ctx, "some/object")
	if !errors.Is(err, objstore.ErrNotExist) || !strings.Contains(err.Error(), "some/object") {
		t.Errorf("Get of a missing object: %v", err)
	}
	_, err = st.Stat(ctx, "some/object")
	if !errors.Is(err, objstore.ErrNotExist) || !strings.Contains(err.Error(), "some/object") {
		t.Errorf("Stat of a missing object: %v", err)
	}
}
