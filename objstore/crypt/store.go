package crypt

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lvback/lvback/objstore"
	"github.com/zeebo/blake3"
	"golang.org/x/crypto/chacha20poly1305"
)

// Store is an objstore.Store that encrypts and authenticates every
// object's content and every component of its name before they reach the
// underlying store, under the master key its key objects wrap. Objects
// live under data/ in the underlying store and key objects under keys/;
// nothing else there is touched. Store is safe for concurrent use.
type Store struct {
	under   objstore.Store
	master  [32]byte    // wrapped anew by AddKey
	content cipher.AEAD // XChaCha20-Poly1305 under the content key
	names   nameKeys
	chunkID [32]byte

	mu    sync.Mutex
	keyID string          // guarded by mu: the key object this Store was opened with
	added map[string]bool // guarded by mu: key objects AddKey wrote since
}

var _ objstore.Store = (*Store)(nil)

// newStore returns the Store of master over under, opened with the key
// object keyID.
func newStore(under objstore.Store, master [32]byte, keyID string) *Store {
	s := &Store{under: under, master: master, keyID: keyID, added: map[string]bool{}}
	var ck [32]byte
	blake3.DeriveKey(ctxContent, master[:], ck[:])
	aead, err := chacha20poly1305.NewX(ck[:])
	if err != nil {
		panic(err) // only for a key that is not 32 bytes
	}
	s.content = aead
	blake3.DeriveKey(ctxNameSIV, master[:], s.names.siv[:])
	blake3.DeriveKey(ctxNameStream, master[:], s.names.stream[:])
	blake3.DeriveKey(ctxChunkID, master[:], s.chunkID[:])
	return s
}

// ChunkIDKey returns the key of this repository's chunk ids (for
// blake3.NewKeyed): derived from the master key, so the same data gets
// other ids in another repository and the store cannot tell which known
// data a host holds. It never changes, not even when the password does.
func (s *Store) ChunkIDKey() [32]byte { return s.chunkID }

// Put implements objstore.Store: it encrypts name and data and stores
// them durably in the underlying store. Put refuses a name with a
// component longer than MaxNameComponent bytes.
func (s *Store) Put(ctx context.Context, name string, data []byte) error {
	u, err := s.names.sealName(name)
	if err != nil {
		return err
	}
	if err := s.under.Put(ctx, u, sealObject(s.content, name, data)); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	return nil
}

// Get implements objstore.Store. An object that fails authentication
// (changed, truncated, or moved from another name) gives an error
// wrapping ErrAuth that names it, and no bytes.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	u, err := s.names.sealName(name)
	if err != nil {
		return nil, err
	}
	data, err := s.under.Get(ctx, u)
	if errors.Is(err, objstore.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", name, objstore.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	return openObject(s.content, name, data)
}

// Stat implements objstore.Store. Size is the content's length, without
// the encryption's overhead; Stat does not read the object, so only Get
// detects a change of its content.
func (s *Store) Stat(ctx context.Context, name string) (objstore.Info, error) {
	u, err := s.names.sealName(name)
	if err != nil {
		return objstore.Info{}, err
	}
	fi, err := s.under.Stat(ctx, u)
	if errors.Is(err, objstore.ErrNotExist) {
		return objstore.Info{}, fmt.Errorf("%s: %w", name, objstore.ErrNotExist)
	}
	if err != nil {
		return objstore.Info{}, fmt.Errorf("stat %s: %w", name, err)
	}
	size, err := contentSize(name, fi.Size)
	if err != nil {
		return objstore.Info{}, err
	}
	return objstore.Info{Name: name, Size: size, ModTime: fi.ModTime}, nil
}

// List implements objstore.Store with plaintext names and sizes. It lists
// the encrypted directory that holds prefix up to its last "/" and
// filters the decrypted names, so a prefix ending in "/" lists no more
// than it returns. A name that does not decrypt stops it with an error
// wrapping ErrAuth that names it.
func (s *Store) List(ctx context.Context, prefix string, fn func(objstore.Info) error) error {
	under := dataObjectsDir
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		u, err := s.names.sealName(prefix[:i])
		if err != nil {
			return fmt.Errorf("invalid object prefix %q: %w", prefix, err)
		}
		under = u + "/"
	}
	return s.under.List(ctx, under, func(fi objstore.Info) error {
		name, err := s.names.openName(fi.Name)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(name, prefix) {
			return nil
		}
		size, err := contentSize(name, fi.Size)
		if err != nil {
			return err
		}
		return fn(objstore.Info{Name: name, Size: size, ModTime: fi.ModTime})
	})
}

// Delete implements objstore.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	u, err := s.names.sealName(name)
	if err != nil {
		return err
	}
	if err := s.under.Delete(ctx, u); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// String implements objstore.Store: the underlying store's name.
func (s *Store) String() string { return s.under.String() }
