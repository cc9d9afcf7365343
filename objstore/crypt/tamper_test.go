package crypt_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/crypt"
)

// Every change to an object's file (a flipped byte anywhere, truncation,
// another object's file, a file moved or copied from another name or
// from another repository) makes Get fail with ErrAuth, naming the
// object, and return no bytes.
func TestTamperedObject(t *testing.T) {
	ctx := context.Background()
	flip := func(i int) func(t *testing.T, f func(string) string) {
		return func(t *testing.T, f func(string) string) {
			p := f("x/one")
			b := read(t, p)
			if i < 0 {
				i += len(b)
			}
			b[i] ^= 0x01
			write(t, p, b)
		}
	}
	truncate := func(n int) func(t *testing.T, f func(string) string) {
		return func(t *testing.T, f func(string) string) {
			p := f("x/one")
			b := read(t, p)
			if n < 0 {
				n += len(b)
			}
			write(t, p, b[:n])
		}
	}
	for name, tc := range map[string]struct {
		tamper func(t *testing.T, path func(name string) string)
		get    []string // objects whose Get must now fail
	}{
		"version byte":       {flip(0), []string{"x/one"}},
		"nonce byte":         {flip(5), []string{"x/one"}},
		"ciphertext byte":    {flip(30), []string{"x/one"}},
		"tag byte":           {flip(-1), []string{"x/one"}},
		"truncated by one":   {truncate(-1), []string{"x/one"}},
		"truncated to 10":    {truncate(10), []string{"x/one"}},
		"truncated to empty": {truncate(0), []string{"x/one"}},
		"swapped": {func(t *testing.T, f func(string) string) {
			a, b := read(t, f("x/one")), read(t, f("x/two"))
			write(t, f("x/one"), b)
			write(t, f("x/two"), a)
		}, []string{"x/one", "x/two"}},
		"renamed to another name": {func(t *testing.T, f func(string) string) {
			if err := os.Rename(f("x/one"), f("x/three")); err != nil {
				t.Fatal(err)
			}
		}, []string{"x/three"}},
		"copied to another directory": {func(t *testing.T, f func(string) string) {
			if err := os.MkdirAll(filepath.Dir(f("y/one")), 0o700); err != nil {
				t.Fatal(err)
			}
			write(t, f("y/one"), read(t, f("x/one")))
		}, []string{"y/one"}},
		"from another repository": {func(t *testing.T, f func(string) string) {
			_, _, other := initStore(t, password("pw")) // same password, another master key
			if err := other.Put(ctx, "x/one", []byte("first object")); err != nil {
				t.Fatal(err)
			}
			u, _ := other.UnderNameForTest("x/one")
			otherRoot := other.String()
			write(t, f("x/one"), read(t, filepath.Join(otherRoot, u)))
		}, []string{"x/one"}},
	} {
		t.Run(name, func(t *testing.T) {
			root, _, st := initStore(t, password("pw"))
			for n, data := range map[string]string{"x/one": "first object", "x/two": "second object"} {
				if err := st.Put(ctx, n, []byte(data)); err != nil {
					t.Fatal(err)
				}
			}
			tc.tamper(t, func(name string) string {
				u, err := st.UnderNameForTest(name)
				if err != nil {
					t.Fatal(err)
				}
				return filepath.Join(root, filepath.FromSlash(u))
			})
			for _, n := range tc.get {
				got, err := st.Get(ctx, n)
				if !errors.Is(err, crypt.ErrAuth) || !strings.Contains(err.Error(), n) || got != nil {
					t.Errorf("Get(%s) = %q, %v; want ErrAuth naming it", n, got, err)
				}
			}
		})
	}
}

// Stat and List refuse an object too short to be encrypted, naming it.
func TestTruncatedStat(t *testing.T) {
	ctx := context.Background()
	root, _, st := initStore(t, password("pw"))
	if err := st.Put(ctx, "a", []byte("content")); err != nil {
		t.Fatal(err)
	}
	u, _ := st.UnderNameForTest("a")
	write(t, filepath.Join(root, u), []byte("short"))
	if _, err := st.Stat(ctx, "a"); !errors.Is(err, crypt.ErrAuth) || !strings.Contains(err.Error(), "a:") {
		t.Errorf("Stat of a 5-byte object: %v, want ErrAuth naming it", err)
	}
	if err := st.List(ctx, "", func(objstore.Info) error { return nil }); !errors.Is(err, crypt.ErrAuth) {
		t.Errorf("List with a 5-byte object: %v, want ErrAuth", err)
	}
}

// A name in data/ that does not decrypt (made up, altered, moved to
// another directory, spelled in capitals) stops List with ErrAuth naming
// it; it is never skipped.
func TestTamperedName(t *testing.T) {
	ctx := context.Background()
	for name, tamper := range map[string]func(t *testing.T, root string, st *crypt.Store){
		"made up": func(t *testing.T, root string, _ *crypt.Store) {
			write(t, filepath.Join(root, "data", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), make([]byte, 100))
		},
		"altered": func(t *testing.T, root string, st *crypt.Store) {
			u, _ := st.UnderNameForTest("x/one")
			alt := []byte(u)
			if alt[len(alt)-3] == 'a' { // another letter of the base32 alphabet
				alt[len(alt)-3] = 'b'
			} else {
				alt[len(alt)-3] = 'a'
			}
			if err := os.Rename(filepath.Join(root, u), filepath.Join(root, string(alt))); err != nil {
				t.Fatal(err)
			}
		},
		"moved to another directory": func(t *testing.T, root string, st *crypt.Store) {
			x, _ := st.UnderNameForTest("x")
			z, _ := st.UnderNameForTest("z")
			if err := os.Rename(filepath.Join(root, x), filepath.Join(root, z)); err != nil {
				t.Fatal(err)
			}
		},
		"capitals": func(t *testing.T, root string, st *crypt.Store) {
			u, _ := st.UnderNameForTest("x/one")
			up := filepath.Dir(u) + "/" + strings.ToUpper(filepath.Base(u))
			if err := os.Rename(filepath.Join(root, u), filepath.Join(root, up)); err != nil {
				t.Fatal(err)
			}
		},
		"non-canonical encoding": func(t *testing.T, root string, st *crypt.Store) {
			u, _ := st.UnderNameForTest("x/one") // 19 bytes in 31 characters: 3 bits unused
			alt := []byte(u)
			const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
			alt[len(alt)-1] = alphabet[strings.IndexByte(alphabet, alt[len(alt)-1])^1]
			if err := os.Rename(filepath.Join(root, u), filepath.Join(root, string(alt))); err != nil {
				t.Fatal(err)
			}
		},
		"empty name": func(t *testing.T, root string, st *crypt.Store) {
			write(t, filepath.Join(root, "data", "a"), make([]byte, 100))
		},
	} {
		t.Run(name, func(t *testing.T) {
			root, _, st := initStore(t, password("pw"))
			if err := st.Put(ctx, "x/one", []byte("content")); err != nil {
				t.Fatal(err)
			}
			tamper(t, root, st)
			var listed []string
			err := st.List(ctx, "", func(fi objstore.Info) error { listed = append(listed, fi.Name); return nil })
			if !errors.Is(err, crypt.ErrAuth) || !strings.Contains(err.Error(), "data/") {
				t.Errorf("List = %q, %v; want ErrAuth naming the object", listed, err)
			}
		})
	}
}

// A damaged or hostile key object makes Open fail promptly, without a
// panic and without running argon2id with absurd costs.
func TestTamperedKeyObject(t *testing.T) {
	ctx := context.Background()
	flipB64 := func(field string) func(m map[string]any) {
		return func(m map[string]any) {
			b, _ := base64.StdEncoding.DecodeString(m[field].(string))
			b[len(b)/2] ^= 0x80
			m[field] = base64.StdEncoding.EncodeToString(b)
		}
	}
	setParam := func(k string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["argon2id"].(map[string]any)[k] = v }
	}
	for name, mutate := range map[string]func(m map[string]any){
		"wrapped key flipped":  flipB64("wrapped_key"),
		"nonce flipped":        flipB64("nonce"),
		"salt flipped":         flipB64("salt"),
		"wrapped key short":    func(m map[string]any) { m["wrapped_key"] = "AAAA" },
		"nonce missing":        func(m map[string]any) { delete(m, "nonce") },
		"salt empty":           func(m map[string]any) { m["salt"] = "" },
		"version 2":            func(m map[string]any) { m["version"] = 2 },
		"kdf scrypt":           func(m map[string]any) { m["kdf"] = "scrypt" },
		"kdf none":             func(m map[string]any) { m["kdf"] = "none" },
		"argon2id missing":     func(m map[string]any) { delete(m, "argon2id") },
		"memory 4 TiB":         setParam("memory_kib", 4294967295),
		"memory 0":             setParam("memory_kib", 0),
		"time 0":               setParam("time", 0),
		"time huge":            setParam("time", 4294967295),
		"threads 0":            setParam("threads", 0),
		"wrong type":           func(m map[string]any) { m["salt"] = 12 },
		"key renamed (see ad)": nil,
	} {
		t.Run(name, func(t *testing.T) {
			root, d, _ := initStore(t, password("pw"))
			ids, _ := filepath.Glob(filepath.Join(root, "keys", "*"))
			if len(ids) != 1 {
				t.Fatalf("key objects %q", ids)
			}
			if mutate == nil {
				if err := os.Rename(ids[0], filepath.Join(root, "keys", "0123456789abcdef0123456789abcdef")); err != nil {
					t.Fatal(err)
				}
			} else {
				var m map[string]any
				if err := json.Unmarshal(read(t, ids[0]), &m); err != nil {
					t.Fatal(err)
				}
				mutate(m)
				b, _ := json.Marshal(m)
				write(t, ids[0], b)
			}
			start := time.Now()
			_, err := crypt.Open(ctx, d, password("pw"))
			if !errors.Is(err, crypt.ErrWrongKey) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("Open with a tampered key object: %v, want one line wrapping ErrWrongKey", err)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("Open took %v", el)
			}
		})
	}
	for name, content := range map[string]string{"empty": "", "null": "null", "not JSON": "\x00\xff", "truncated": `{"version":1,"kdf":"argon`} {
		t.Run(name, func(t *testing.T) {
			root, d, _ := initStore(t, password("pw"))
			ids, _ := filepath.Glob(filepath.Join(root, "keys", "*"))
			write(t, ids[0], []byte(content))
			if _, err := crypt.Open(ctx, d, password("pw")); !errors.Is(err, crypt.ErrWrongKey) {
				t.Errorf("Open with a key object holding %q: %v, want ErrWrongKey", content, err)
			}
		})
	}
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
