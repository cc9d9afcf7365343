package crypt_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/objstore/crypt"
)

// A wrong password or key file fails with ErrWrongKey, on one line
// naming the store, and leaves every file and directory as it was.
func TestWrongKeyWritesNothing(t *testing.T) {
	ctx := context.Background()
	goodFile := bytes.Repeat([]byte{7}, 32)
	for name, tc := range map[string]struct{ init, open crypt.Secret }{
		"password":                 {password("right"), password("wrong")},
		"key file":                 {keyFile(t, goodFile), keyFile(t, bytes.Repeat([]byte{8}, 32))},
		"password for a key file":  {keyFile(t, goodFile), password("right")},
		"key file for a password":  {password("right"), keyFile(t, goodFile)},
		"key file, longer":         {keyFile(t, goodFile), keyFile(t, append(goodFile, 0))},
		"password, trailing space": {password("right"), password("right ")},
	} {
		t.Run(name, func(t *testing.T) {
			root, d, st := initStore(t, tc.init)
			if err := st.Put(ctx, "a/b", []byte("content")); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, root)
			_, err := crypt.Open(ctx, d, tc.open)
			if !errors.Is(err, crypt.ErrWrongKey) {
				t.Fatalf("Open with a wrong secret: %v, want ErrWrongKey", err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") || msg != "wrong password or key file for "+root {
				t.Errorf("message %q, want one line naming %s", msg, root)
			}
			if _, err := crypt.ChangeKey(ctx, d, tc.open, password("new")); !errors.Is(err, crypt.ErrWrongKey) {
				t.Errorf("ChangeKey with a wrong secret: %v, want ErrWrongKey", err)
			}
			sameSnapshots(t, before, snapshot(t, root))
			if _, err := crypt.Open(ctx, d, tc.init); err != nil {
				t.Errorf("the right secret no longer opens: %v", err)
			}
		})
	}
}

func TestOpenNotEncrypted(t *testing.T) {
	_, d := newDir(t)
	if _, err := crypt.Open(context.Background(), d, password("pw")); !errors.Is(err, crypt.ErrNotEncrypted) {
		t.Errorf("Open of an empty store: %v, want ErrNotEncrypted", err)
	}
}

// Init refuses a store that is already encrypted, and secrets that
// unlock nothing.
func TestInitRefuses(t *testing.T) {
	ctx := context.Background()
	_, d, st := initStore(t, password("pw"))
	if _, err := crypt.Init(ctx, d, password("other")); err == nil {
		t.Error("Init of an initialised store succeeded")
	}
	_, d2 := newDir(t)
	if err := d2.Put(ctx, "data/x", []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.Init(ctx, d2, password("pw")); err == nil {
		t.Error("Init of a store with objects under data/ succeeded")
	}
	_, d3 := newDir(t)
	for _, s := range []crypt.Secret{{}, crypt.SecretFromPassword(nil)} {
		if _, err := crypt.Init(ctx, d3, s); err == nil {
			t.Errorf("Init with secret %v succeeded", s)
		}
		if _, err := st.AddKey(ctx, s); err == nil {
			t.Errorf("AddKey with secret %v succeeded", s)
		}
	}
}

// ChangeKey rewrites no object: every data file is byte-identical (and
// untouched) afterwards; the old secret fails and the new one opens.
func TestChangeKey(t *testing.T) {
	ctx := context.Background()
	root, d, st := initStore(t, password("old"))
	for _, n := range []string{"chunks/ab/1", "index", "info/x"} {
		if err := st.Put(ctx, n, []byte("content of "+n)); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, filepath.Join(root, "data"))
	newID, err := crypt.ChangeKey(ctx, d, password("old"), password("new"))
	if err != nil {
		t.Fatal(err)
	}
	sameSnapshots(t, before, snapshot(t, filepath.Join(root, "data")))
	if _, err := crypt.Open(ctx, d, password("old")); !errors.Is(err, crypt.ErrWrongKey) {
		t.Errorf("old password after ChangeKey: %v, want ErrWrongKey", err)
	}
	st2, err := crypt.Open(ctx, d, password("new"))
	if err != nil {
		t.Fatalf("new password after ChangeKey: %v", err)
	}
	if st2.KeyID() != newID {
		t.Errorf("opened with key %s, ChangeKey returned %s", st2.KeyID(), newID)
	}
	if got, err := st2.Get(ctx, "index"); err != nil || string(got) != "content of index" {
		t.Errorf("Get after ChangeKey = %q, %v", got, err)
	}
	if st2.ChunkIDKey() != st.ChunkIDKey() {
		t.Error("ChangeKey changed the chunk id key")
	}
	// To a key file and back: both kinds of key object work.
	kf := keyFile(t, bytes.Repeat([]byte("0123456789abcdef"), 4))
	if _, err := crypt.ChangeKey(ctx, d, password("new"), kf); err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.Open(ctx, d, kf); err != nil {
		t.Errorf("key file after ChangeKey: %v", err)
	}
}

// ChangeKey removes every key object the old secret opens, so it fails
// afterwards even when it had been added twice.
func TestChangeKeyRemovesEveryOldKey(t *testing.T) {
	ctx := context.Background()
	_, d, st := initStore(t, password("old"))
	if _, err := st.AddKey(ctx, password("old")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddKey(ctx, password("other")); err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.ChangeKey(ctx, d, password("old"), password("new")); err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.Open(ctx, d, password("old")); !errors.Is(err, crypt.ErrWrongKey) {
		t.Errorf("old password after ChangeKey: %v, want ErrWrongKey", err)
	}
	for _, pw := range []string{"new", "other"} {
		if _, err := crypt.Open(ctx, d, password(pw)); err != nil {
			t.Errorf("Open with %q: %v", pw, err)
		}
	}
}

// RemoveKey refuses the last key, and the one in use until another was
// added; a removed key no longer opens.
func TestAddRemoveKey(t *testing.T) {
	ctx := context.Background()
	_, d, st := initStore(t, password("first"))
	first := st.KeyID()
	if err := st.RemoveKey(ctx, first); err == nil || !strings.Contains(err.Error(), "only key") {
		t.Errorf("RemoveKey of the only key: %v", err)
	}
	if err := st.RemoveKey(ctx, "nonexistent"); err == nil {
		t.Error("RemoveKey of a missing key succeeded")
	}
	// Another process adds a key: still, this Store was opened with first.
	other, err := crypt.Open(ctx, d, password("first"))
	if err != nil {
		t.Fatal(err)
	}
	otherID, err := other.AddKey(ctx, password("second"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveKey(ctx, first); err == nil || !strings.Contains(err.Error(), "opened with it") {
		t.Errorf("RemoveKey of the key in use, nothing added: %v", err)
	}
	thirdID, err := st.AddKey(ctx, password("third"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveKey(ctx, first); err != nil {
		t.Fatalf("RemoveKey of the key in use after AddKey: %v", err)
	}
	if st.KeyID() != thirdID {
		t.Errorf("KeyID = %s after removing the one in use, want the added %s", st.KeyID(), thirdID)
	}
	keys, err := st.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
		if k.KDF != "argon2id" || k.Created.IsZero() || k.InUse != (k.ID == thirdID) {
			t.Errorf("key %+v", k)
		}
	}
	if len(ids) != 2 || !strings.Contains(strings.Join(ids, " "), otherID) {
		t.Errorf("keys %q, want %s and %s", ids, otherID, thirdID)
	}
	if _, err := crypt.Open(ctx, d, password("first")); !errors.Is(err, crypt.ErrWrongKey) {
		t.Errorf("removed password: %v, want ErrWrongKey", err)
	}
	for _, pw := range []string{"second", "third"} {
		if _, err := crypt.Open(ctx, d, password(pw)); err != nil {
			t.Errorf("Open with %q: %v", pw, err)
		}
	}
}

// A key file shorter than 32 bytes is refused with a message saying
// what it needs; every byte of a longer one counts.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, make([]byte, 31), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := crypt.SecretFromKeyFile(short)
	if err == nil || !strings.Contains(err.Error(), "31 bytes") || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("31-byte key file: %v", err)
	}
	if _, err := crypt.SecretFromKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing key file accepted")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 1<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.SecretFromKeyFile(big); err == nil {
		t.Error("key file over 1 MiB accepted")
	}
	// Two key files that differ only in their last byte are different keys.
	a := bytes.Repeat([]byte("k"), 100)
	b := append(bytes.Repeat([]byte("k"), 99), 'x')
	_, d, _ := initStore(t, keyFile(t, a))
	if _, err := crypt.Open(context.Background(), d, keyFile(t, b)); !errors.Is(err, crypt.ErrWrongKey) {
		t.Errorf("key file differing in byte 100: %v, want ErrWrongKey", err)
	}
	if _, err := crypt.Open(context.Background(), d, keyFile(t, a)); err != nil {
		t.Errorf("the right key file: %v", err)
	}
}
