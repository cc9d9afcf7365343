package crypt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lvback/lvback/objstore"
	"golang.org/x/crypto/chacha20poly1305"
)

// ErrWrongKey reports a secret that opens none of a repository's key
// objects. Open's error wraps it and reads, on one line, "wrong password
// or key file for <store>".
var ErrWrongKey = errors.New("wrong password or key file")

// ErrNotEncrypted reports a store that holds no key objects.
var ErrNotEncrypted = errors.New("no key objects: not an encrypted repository")

// keyVersion is the version of the key object format.
const keyVersion = 1

// keyObject is the JSON content of keys/<id>: the master key wrapped
// with XChaCha20-Poly1305 under a key derived from a secret.
type keyObject struct {
	Version    int           `json:"version"`
	KDF        string        `json:"kdf"`
	Argon2     *Argon2Params `json:"argon2id,omitempty"`
	Salt       []byte        `json:"salt"`
	Nonce      []byte        `json:"nonce"`
	WrappedKey []byte        `json:"wrapped_key"`
	Created    time.Time     `json:"created"`
}

// KeyInfo describes one key object, without opening it.
type KeyInfo struct {
	ID      string    // what RemoveKey takes
	KDF     string    // "argon2id" for a password, "none" for a key file
	Created time.Time // when AddKey, Init or ChangeKey wrote it
	InUse   bool      // whether this Store was opened with it
}

// Init makes under an encrypted repository: a new random master key,
// wrapped by a key object made from s. It refuses a store that already
// holds key objects or encrypted objects. Objects under other names are
// left alone.
func Init(ctx context.Context, under objstore.Store, s Secret) (*Store, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("init %s: %w", under, err)
	}
	for _, dir := range []string{keyObjectsDir, dataObjectsDir} {
		found := errors.New("found")
		err := under.List(ctx, dir, func(objstore.Info) error { return found })
		if errors.Is(err, found) {
			return nil, fmt.Errorf("init %s: it already holds %s objects (an encrypted repository is there)", under, strings.TrimSuffix(dir, "/"))
		}
		if err != nil {
			return nil, fmt.Errorf("init %s: %w", under, err)
		}
	}
	var master [32]byte
	rand.Read(master[:]) // never fails (crypto/rand, Go 1.24+)
	st := newStore(under, master, "")
	id, err := st.writeKey(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", under, err)
	}
	st.keyID = id
	return st, nil
}

// Open returns the Store of an encrypted repository, unlocked by the
// first key object s opens. It only reads: a wrong secret leaves the
// store as it was. When s opens no key object the error wraps ErrWrongKey;
// when the store holds none, ErrNotEncrypted.
func Open(ctx context.Context, under objstore.Store, s Secret) (*Store, error) {
	master, ids, err := findKeys(ctx, under, s, false)
	if err != nil {
		return nil, err
	}
	return newStore(under, master, ids[0]), nil
}

// AddKey wraps the master key in a new key object made from secret and
// returns its id. Nothing else is written: the objects stay as they are.
func (s *Store) AddKey(ctx context.Context, secret Secret) (string, error) {
	if err := secret.check(); err != nil {
		return "", fmt.Errorf("add key: %w", err)
	}
	id, err := s.writeKey(ctx, secret)
	if err != nil {
		return "", fmt.Errorf("add key to %s: %w", s.under, err)
	}
	s.mu.Lock()
	s.added[id] = true
	s.mu.Unlock()
	return id, nil
}

// RemoveKey deletes the key object id. It refuses to remove the last key
// object, and the one this Store was opened with unless AddKey has added
// another since, so that a secret its caller knows still opens the
// repository. Key changes by another process at the same time are not
// guarded against.
func (s *Store) RemoveKey(ctx context.Context, id string) error {
	ids, err := listKeyIDs(ctx, s.under)
	if err != nil {
		return fmt.Errorf("remove key %s: %w", id, err)
	}
	if !slices.Contains(ids, id) {
		return fmt.Errorf("remove key %s: %s has no such key", id, s.under)
	}
	if len(ids) == 1 {
		return fmt.Errorf("remove key %s: it is the only key of %s; add another first", id, s.under)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := ""
	if id == s.keyID {
		for a := range s.added {
			if a != id && slices.Contains(ids, a) {
				next = a
				break
			}
		}
		if next == "" {
			return fmt.Errorf("remove key %s: the repository was opened with it; add another key first", id)
		}
	}
	if err := s.under.Delete(ctx, keyObjectsDir+id); err != nil {
		return fmt.Errorf("remove key %s: %w", id, err)
	}
	delete(s.added, id)
	if next != "" {
		s.keyID = next
		delete(s.added, next)
	}
	return nil
}

// ChangeKey replaces old by new: it adds a key object made from new, then
// removes every key object old opens, and returns the new one's id. No
// other object is rewritten (the master key stays), so it takes a moment
// whatever the repository's size. Afterwards old no longer opens the
// repository (unless new is the same secret). A crash in between leaves
// both secrets working. Like any key change, it does not lock out one who
// already learned the master key.
func ChangeKey(ctx context.Context, under objstore.Store, old, new Secret) (string, error) {
	if err := new.check(); err != nil {
		return "", fmt.Errorf("change key: %w", err)
	}
	master, oldIDs, err := findKeys(ctx, under, old, true)
	if err != nil {
		return "", err
	}
	st := newStore(under, master, oldIDs[0])
	id, err := st.writeKey(ctx, new)
	if err != nil {
		return "", fmt.Errorf("change key of %s: %w", under, err)
	}
	for _, old := range oldIDs {
		if err := under.Delete(ctx, keyObjectsDir+old); err != nil {
			return id, fmt.Errorf("change key of %s: remove old key %s: %w", under, old, err)
		}
	}
	return id, nil
}

// KeyID returns the id of the key object this Store was opened with (or,
// once RemoveKey removed that one, of one AddKey added).
func (s *Store) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyID
}

// Keys describes the repository's key objects, ordered by id. A key
// object that does not parse is listed with an empty KDF.
func (s *Store) Keys(ctx context.Context) ([]KeyInfo, error) {
	ids, err := listKeyIDs(ctx, s.under)
	if err != nil {
		return nil, err
	}
	inUse := s.KeyID()
	var out []KeyInfo
	for _, id := range ids {
		ki := KeyInfo{ID: id, InUse: id == inUse}
		if ko, err := readKeyObject(ctx, s.under, id); err == nil {
			ki.KDF, ki.Created = ko.KDF, ko.Created
		}
		out = append(out, ki)
	}
	return out, nil
}

// writeKey stores a new key object that wraps s's master key under a key
// derived from secret, and returns its id.
func (s *Store) writeKey(ctx context.Context, secret Secret) (string, error) {
	var idb [16]byte
	rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	ko := keyObject{Version: keyVersion, KDF: secret.kdf(), Salt: make([]byte, saltSize),
		Nonce: make([]byte, chacha20poly1305.NonceSizeX), Created: time.Now().UTC().Truncate(time.Second)}
	if ko.KDF == kdfArgon2id {
		p := secret.params()
		ko.Argon2 = &p
	}
	rand.Read(ko.Salt)
	rand.Read(ko.Nonce)
	wk, err := secret.wrappingKey(ko.KDF, ko.Argon2, ko.Salt)
	if err != nil {
		return "", err
	}
	aead, err := chacha20poly1305.NewX(wk[:])
	if err != nil {
		return "", err
	}
	ko.WrappedKey = aead.Seal(nil, ko.Nonce, s.master[:], []byte(keyObjectsDir+id))
	b, err := json.MarshalIndent(ko, "", "  ")
	if err != nil {
		return "", err
	}
	if err := s.under.Put(ctx, keyObjectsDir+id, append(b, '\n')); err != nil {
		return "", err
	}
	return id, nil
}

// listKeyIDs returns the ids of under's key objects, sorted.
func listKeyIDs(ctx context.Context, under objstore.Store) ([]string, error) {
	var ids []string
	err := under.List(ctx, keyObjectsDir, func(fi objstore.Info) error {
		ids = append(ids, strings.TrimPrefix(fi.Name, keyObjectsDir))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list keys of %s: %w", under, err)
	}
	slices.Sort(ids)
	return ids, nil
}

// readKeyObject reads and parses the key object id.
func readKeyObject(ctx context.Context, under objstore.Store, id string) (keyObject, error) {
	var ko keyObject
	b, err := under.Get(ctx, keyObjectsDir+id)
	if err != nil {
		return ko, err
	}
	if err := json.Unmarshal(b, &ko); err != nil {
		return ko, err
	}
	if ko.Version != keyVersion {
		return ko, fmt.Errorf("unknown key object version %d", ko.Version)
	}
	return ko, nil
}

// unwrap returns the master key that the key object id wraps under a key
// derived from s, or an error: errKDFMismatch for a key object of the
// other kind of secret, ErrAuth for a wrong secret (or a damaged key
// object, which cannot be told apart), another for one that does not
// parse or has bad parameters.
func unwrap(ko keyObject, id string, s Secret) ([32]byte, error) {
	var master [32]byte
	if len(ko.Nonce) != chacha20poly1305.NonceSizeX || len(ko.WrappedKey) != len(master)+chacha20poly1305.Overhead {
		return master, errors.New("nonce or wrapped key of the wrong length")
	}
	wk, err := s.wrappingKey(ko.KDF, ko.Argon2, ko.Salt)
	if err != nil {
		return master, err
	}
	aead, err := chacha20poly1305.NewX(wk[:])
	if err != nil {
		return master, err
	}
	m, err := aead.Open(nil, ko.Nonce, ko.WrappedKey, []byte(keyObjectsDir+id))
	if err != nil {
		return master, ErrAuth
	}
	copy(master[:], m)
	return master, nil
}

// findKeys tries s on under's key objects in id order and returns the
// master key and the ids of the key objects s opened: the first only, or
// with all every one. It only reads. The error wraps ErrWrongKey when s
// opens none (noting, on the same line, key objects that did not parse),
// ErrNotEncrypted when there are none.
func findKeys(ctx context.Context, under objstore.Store, s Secret, all bool) ([32]byte, []string, error) {
	var master [32]byte
	if err := s.check(); err != nil {
		return master, nil, fmt.Errorf("open %s: %w", under, err)
	}
	ids, err := listKeyIDs(ctx, under)
	if err != nil {
		return master, nil, err
	}
	if len(ids) == 0 {
		return master, nil, fmt.Errorf("%s: %w", under, ErrNotEncrypted)
	}
	var opened []string
	var damaged []string
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return master, nil, err
		}
		ko, err := readKeyObject(ctx, under, id)
		var m [32]byte
		if err == nil {
			m, err = unwrap(ko, id, s)
		}
		switch {
		case err == nil:
			if len(opened) > 0 && m != master {
				return master, nil, fmt.Errorf("open %s: key objects %s and %s wrap different master keys", under, opened[0], id)
			}
			master = m
			opened = append(opened, id)
			if !all {
				return master, opened, nil
			}
		case errors.Is(err, ErrAuth), errors.Is(err, errKDFMismatch):
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return master, nil, err
		default:
			damaged = append(damaged, fmt.Sprintf("key %s: %v", id, err))
		}
	}
	if len(opened) > 0 {
		return master, opened, nil
	}
	if len(damaged) > 0 {
		return master, nil, fmt.Errorf("%w for %s (%d unreadable key object(s); %s)", ErrWrongKey, under, len(damaged), damaged[0])
	}
	return master, nil, fmt.Errorf("%w for %s", ErrWrongKey, under)
}

// IsEncrypted reports whether under holds key objects: an encrypted
// repository, which Open needs a secret for.
func IsEncrypted(ctx context.Context, under objstore.Store) (bool, error) {
	ids, err := listKeyIDs(ctx, under)
	return len(ids) > 0, err
}
