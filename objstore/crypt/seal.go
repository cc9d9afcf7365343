package crypt

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrAuth reports an object, a name or a key object that failed
// authentication: changed, truncated, moved to another name, or written
// with another key. Get, Stat and List return errors wrapping it, naming
// the object; they never return bytes or names that failed it.
var ErrAuth = errors.New("authentication failed (damaged, moved or not written with this repository's key)")

// objectVersion is the first byte of every encrypted object.
const objectVersion = 1

// overhead is how much longer an encrypted object is than its content:
// the version byte, the 24-byte nonce and the 16-byte Poly1305 tag.
const overhead = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

// sealObject encrypts the content of the object name with aead (an
// XChaCha20-Poly1305 AEAD) under a fresh random nonce, authenticating the
// version byte and the name as additional data.
func sealObject(aead cipher.AEAD, name string, content []byte) []byte {
	var nonce [chacha20poly1305.NonceSizeX]byte
	rand.Read(nonce[:]) // never fails (crypto/rand, Go 1.24+)
	return sealObjectNonce(aead, name, content, nonce)
}

// sealObjectNonce is sealObject with the nonce given: the fuzz targets
// need the same sealed bytes in every process.
func sealObjectNonce(aead cipher.AEAD, name string, content []byte, nonce [chacha20poly1305.NonceSizeX]byte) []byte {
	out := make([]byte, 1, overhead+len(content))
	out[0] = objectVersion
	out = append(out, nonce[:]...)
	return aead.Seal(out, nonce[:], content, additionalData(name))
}

// openObject returns the content of the encrypted object name, or an
// error wrapping ErrAuth; it never returns bytes that failed
// authentication.
func openObject(aead cipher.AEAD, name string, data []byte) ([]byte, error) {
	if len(data) < overhead {
		return nil, fmt.Errorf("%s: %w: %d bytes, shorter than any encrypted object", name, ErrAuth, len(data))
	}
	if data[0] != objectVersion {
		return nil, fmt.Errorf("%s: %w: unknown format version %d", name, ErrAuth, data[0])
	}
	nonce, ct := data[1:1+chacha20poly1305.NonceSizeX], data[1+chacha20poly1305.NonceSizeX:]
	content, err := aead.Open(nil, nonce, ct, additionalData(name))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrAuth)
	}
	return content, nil
}

// additionalData is what an object's tag authenticates besides its
// content: the version byte, then the plaintext name.
func additionalData(name string) []byte {
	return append([]byte{objectVersion}, name...)
}

// contentSize returns the content length of an encrypted object of size
// bytes, or an error wrapping ErrAuth for one too short to be one.
func contentSize(name string, size int64) (int64, error) {
	if size < overhead {
		return 0, fmt.Errorf("%s: %w: %d bytes, shorter than any encrypted object", name, ErrAuth, size)
	}
	return size - overhead, nil
}
