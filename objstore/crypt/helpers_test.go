package crypt_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/crypt"
)

// fast are argon2id costs that keep tests quick; only tests use them.
var fast = crypt.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// password returns the Secret of pw with the cheap test costs.
func password(pw string) crypt.Secret {
	return crypt.SecretFromPassword([]byte(pw)).WithArgon2(fast)
}

// keyFile writes data to a new file and returns its Secret.
func keyFile(t *testing.T, data []byte) crypt.Secret {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := crypt.SecretFromKeyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newDir returns an empty directory and the objstore.Dir over it.
func newDir(t *testing.T) (string, *objstore.Dir) {
	t.Helper()
	root := t.TempDir()
	d, err := objstore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, d
}

// initStore makes an encrypted repository in a new directory.
func initStore(t *testing.T, s crypt.Secret) (string, *objstore.Dir, *crypt.Store) {
	t.Helper()
	root, d := newDir(t)
	st, err := crypt.Init(context.Background(), d, s)
	if err != nil {
		t.Fatal(err)
	}
	return root, d, st
}

// fileState is what snapshot records of one file or directory.
type fileState struct {
	mode    fs.FileMode
	modTime time.Time
	data    []byte
}

// snapshot records every file and directory below root.
func snapshot(t *testing.T, root string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		st := fileState{mode: fi.Mode(), modTime: fi.ModTime()}
		if fi.Mode().IsRegular() {
			if st.data, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		rel, _ := filepath.Rel(root, p)
		m[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameSnapshots reports every difference between two snapshots.
func sameSnapshots(t *testing.T, before, after map[string]fileState) {
	t.Helper()
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			t.Errorf("%s vanished", p)
		case a.mode != b.mode || !a.modTime.Equal(b.modTime):
			t.Errorf("%s changed: mode %v→%v, mtime %v→%v", p, b.mode, a.mode, b.modTime, a.modTime)
		case !bytes.Equal(a.data, b.data):
			t.Errorf("%s: content changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared", p)
		}
	}
}
