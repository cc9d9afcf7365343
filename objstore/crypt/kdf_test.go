package crypt

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/lvback/lvback/objstore"
)

// A password Secret without WithArgon2 records the default costs in its
// key object, and they are within what Open accepts.
func TestDefaultArgon2(t *testing.T) {
	ctx := context.Background()
	d, err := objstore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := Init(ctx, d, SecretFromPassword([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	ko, err := readKeyObject(ctx, d, st.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	want := Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4}
	if ko.KDF != kdfArgon2id || ko.Argon2 == nil || *ko.Argon2 != want {
		b, _ := json.Marshal(ko)
		t.Fatalf("key object %s, want argon2id with %+v", b, want)
	}
	if err := want.check(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := Open(ctx, d, SecretFromPassword([]byte("pw"))); err != nil {
		t.Fatal(err)
	}
	t.Logf("Open with the default argon2id costs took %v", time.Since(start))
}

// BenchmarkArgon2Default measures one derivation with the default costs:
// what every Open of a password-protected repository pays once.
func BenchmarkArgon2Default(b *testing.B) {
	s := SecretFromPassword([]byte("a password"))
	p := s.params()
	salt := make([]byte, saltSize)
	for b.Loop() {
		if _, err := s.wrappingKey(kdfArgon2id, &p, salt); err != nil {
			b.Fatal(err)
		}
	}
}
