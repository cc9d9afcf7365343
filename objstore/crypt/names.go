package crypt

import (
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/lvback/lvback/objstore"
	"github.com/zeebo/blake3"
	"golang.org/x/crypto/chacha20"
)

// MaxNameComponent is the longest plaintext component (between slashes)
// of an object name, in bytes. Its encrypted form is 16 bytes longer and
// base32-encoded: at most 186 characters, under the 255 bytes a file
// name may have on every common file system.
const MaxNameComponent = 100

// sivSize is the length of a name component's synthetic IV, which is
// both its authentication tag and its encryption nonce.
const sivSize = 16

// nameEncoding writes encrypted components: lowercase base32 without
// padding, so a name never starts with "." and two names never differ
// only in case (safe on case-insensitive file systems).
var nameEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// nameKeys are the two keys of the deterministic name encryption: siv
// keys the BLAKE3 PRF that makes the synthetic IV, stream the XChaCha20
// keystream.
type nameKeys struct {
	siv, stream [32]byte
}

// synthIV returns the SIV of component comp under the plaintext parent
// path: keyed BLAKE3 of le64(len(parent)) || parent || comp, cut to 16
// bytes. The parent is length-prefixed, so the input is unambiguous.
func (k *nameKeys) synthIV(parent, comp string) [sivSize]byte {
	h, err := blake3.NewKeyed(k.siv[:])
	if err != nil {
		panic(err) // only for a key that is not 32 bytes
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(parent)))
	h.Write(n[:])
	h.WriteString(parent)
	h.WriteString(comp)
	var iv [sivSize]byte
	h.Digest().Read(iv[:])
	return iv
}

// xorStream XORs src into dst with the XChaCha20 keystream whose 24-byte
// nonce is iv followed by 8 zero bytes.
func (k *nameKeys) xorStream(dst, src []byte, iv [sivSize]byte) {
	var nonce [chacha20.NonceSizeX]byte
	copy(nonce[:], iv[:])
	c, err := chacha20.NewUnauthenticatedCipher(k.stream[:], nonce[:])
	if err != nil {
		panic(err) // only for wrong key or nonce sizes
	}
	c.XORKeyStream(dst, src)
}

// sealComponent encrypts one plaintext component, which sits below the
// plaintext parent path ("" at the top).
func (k *nameKeys) sealComponent(parent, comp string) string {
	iv := k.synthIV(parent, comp)
	raw := make([]byte, sivSize+len(comp))
	copy(raw, iv[:])
	k.xorStream(raw[sivSize:], []byte(comp), iv)
	return nameEncoding.EncodeToString(raw)
}

// errBadName is the cause of every name that does not decrypt.
var errBadName = errors.New("not an encrypted name of this repository")

// openComponent decrypts one encrypted component below the plaintext
// parent path. It accepts only what sealComponent returns for that
// parent: the canonical encoding, and an SIV that matches the plaintext.
func (k *nameKeys) openComponent(parent, enc string) (string, error) {
	raw, err := nameEncoding.DecodeString(enc)
	if err != nil || len(raw) <= sivSize || len(raw) > sivSize+MaxNameComponent || nameEncoding.EncodeToString(raw) != enc {
		return "", errBadName
	}
	var iv [sivSize]byte
	copy(iv[:], raw)
	comp := make([]byte, len(raw)-sivSize)
	k.xorStream(comp, raw[sivSize:], iv)
	want := k.synthIV(parent, string(comp))
	if subtle.ConstantTimeCompare(iv[:], want[:]) != 1 {
		return "", errBadName
	}
	return string(comp), nil
}

// sealName returns the underlying store's name of the object name, under
// dataObjectsDir. It refuses a name objstore.ValidName refuses and one
// with a component longer than MaxNameComponent.
func (k *nameKeys) sealName(name string) (string, error) {
	if !objstore.ValidName(name) {
		return "", fmt.Errorf("invalid object name %q", name)
	}
	comps := strings.Split(name, "/")
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(dataObjectsDir, "/"))
	for i, c := range comps {
		if len(c) > MaxNameComponent {
			return "", fmt.Errorf("object name %q: component of %d bytes; encrypted names allow at most %d", name, len(c), MaxNameComponent)
		}
		b.WriteByte('/')
		b.WriteString(k.sealComponent(strings.Join(comps[:i], "/"), c))
	}
	return b.String(), nil
}

// openName returns the plaintext name of an underlying name under
// dataObjectsDir, or an error wrapping ErrAuth that names it.
func (k *nameKeys) openName(under string) (string, error) {
	rest, ok := strings.CutPrefix(under, dataObjectsDir)
	if !ok {
		return "", fmt.Errorf("object %s: %w: %w", under, ErrAuth, errBadName)
	}
	var plain []string
	for c := range strings.SplitSeq(rest, "/") {
		p, err := k.openComponent(strings.Join(plain, "/"), c)
		if err != nil {
			return "", fmt.Errorf("object %s: %w: %w", under, ErrAuth, err)
		}
		plain = append(plain, p)
	}
	name := strings.Join(plain, "/")
	if !objstore.ValidName(name) {
		return "", fmt.Errorf("object %s: %w: decrypts to invalid name %q", under, ErrAuth, name)
	}
	return name, nil
}
