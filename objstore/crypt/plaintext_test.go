package crypt_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// markers appear in the names and contents put; none may reach the disk.
var markers = []string{"SECRETNAME", "secretdir", "CONTENTMARK", "known-file-line"}

// No object name, content, or key (master, subkeys) appears in any byte
// of any file the encrypted store wrote: not even a known 1 MiB file
// whose every 64-byte window is recognisable.
func TestNoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	const pw = "correct horse battery staple"
	root, _, st := initStore(t, password(pw))
	var known bytes.Buffer
	for i := 0; known.Len() < 1<<20; i++ {
		fmt.Fprintf(&known, "known-file-line %08d of a file the store must hide\n", i)
	}
	objects := map[string][]byte{
		"secretdir/SECRETNAME":          []byte("CONTENTMARK here"),
		"secretdir/sub/SECRETNAME.json": []byte(`{"x":"CONTENTMARK"}`),
		"chunks/known":                  known.Bytes(),
	}
	for n, data := range objects {
		if err := st.Put(ctx, n, data); err != nil {
			t.Fatal(err)
		}
	}
	var needles []string
	for _, m := range markers {
		needles = append(needles, m, string(bytes.ToLower([]byte(m))))
	}
	needles = append(needles, pw)
	for name, k := range st.KeysForTest() {
		needles = append(needles, string(k), hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k))
		for i := 0; i+8 <= len(k); i += 8 { // any 8-byte slice of a key
			needles = append(needles, string(k[i:i+8]))
		}
		if len(k) != 32 {
			t.Fatalf("key %s of %d bytes", name, len(k))
		}
	}
	files := 0
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, m := range needles[:2*len(markers)] {
			if bytes.Contains([]byte(p), []byte(m)) {
				t.Errorf("path %s holds %q", p, m)
			}
		}
		if !e.Type().IsRegular() {
			return nil
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range needles {
			if bytes.Contains(b, []byte(m)) {
				t.Errorf("%s holds %q", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != len(objects)+1 {
		t.Errorf("scanned %d files, want %d objects and 1 key", files, len(objects)+1)
	}
	for n, data := range objects { // the objects are really there
		if got, err := st.Get(ctx, n); err != nil || !bytes.Equal(got, data) {
			t.Errorf("Get(%s): %d bytes, %v", n, len(got), err)
		}
	}
}
