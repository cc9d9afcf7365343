package crypt

import (
	"errors"
	"fmt"

	"github.com/zeebo/blake3"
	"golang.org/x/crypto/argon2"
)

// The argon2id parameters a password gets when a key object is made
// (RFC 9106 section 4, "second recommended option": 64 MiB of memory,
// 3 passes, 4 lanes). Every guess of an attacker costs 64 MiB and as much
// time as an Open: one derivation took 0.39-0.72 s (BenchmarkArgon2Default,
// 2026-11, the project's 2-core machine at load average 8; 2 lanes were no
// faster, 2 passes took 0.39-0.46 s; a whole Open took 0.26-1.0 s at load
// average 7, TestDefaultArgon2's log), paid once per run, not per object.
// The parameters are stored in each key object, so they can be raised
// later without breaking old keys.
const (
	defaultArgon2Memory  = 64 * 1024 // KiB
	defaultArgon2Time    = 3
	defaultArgon2Threads = 4
)

// The bounds Open accepts in a key object, so a damaged or hostile one
// cannot make it allocate the host's memory or run for hours: 2 GiB,
// 100 passes, 64 lanes (argon2 itself needs at least 8 KiB per lane).
const (
	maxArgon2Memory  = 2 * 1024 * 1024 // KiB
	maxArgon2Time    = 100
	maxArgon2Threads = 64
)

// saltSize is the length of a key object's salt: 16 bytes, the size RFC
// 9106 recommends.
const saltSize = 16

// Context strings of the BLAKE3 key derivations (BLAKE3's convention:
// application, time, purpose); changing one changes every key it makes.
const (
	ctxKeyFile     = "lvback 2026-11 objstore/crypt key file wrapping key v1"
	ctxContent     = "lvback 2026-11 objstore/crypt object content key v1"
	ctxNameSIV     = "lvback 2026-11 objstore/crypt name SIV key v1"
	ctxNameStream  = "lvback 2026-11 objstore/crypt name stream key v1"
	ctxChunkID     = "lvback 2026-11 objstore/crypt chunk id key v1"
	kdfArgon2id    = "argon2id"
	kdfNone        = "none"
	keyObjectsDir  = "keys/"
	dataObjectsDir = "data/"
)

// Argon2Params are the argon2id costs of stretching a password: Memory in
// KiB, Time passes over it, Threads lanes.
type Argon2Params struct {
	Memory  uint32 `json:"memory_kib"`
	Time    uint32 `json:"time"`
	Threads uint8  `json:"threads"`
}

// check returns an error for parameters argon2id refuses or Open would
// not accept.
func (p Argon2Params) check() error {
	switch {
	case p.Threads < 1 || p.Threads > maxArgon2Threads:
		return fmt.Errorf("argon2id threads %d outside 1..%d", p.Threads, maxArgon2Threads)
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("argon2id time %d outside 1..%d", p.Time, maxArgon2Time)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory:
		return fmt.Errorf("argon2id memory %d KiB outside %d..%d", p.Memory, 8*uint32(p.Threads), maxArgon2Memory)
	}
	return nil
}

// errKDFMismatch reports a key object made from the other kind of
// secret (a password's object tried with a key file, or the reverse).
var errKDFMismatch = errors.New("key object made from another kind of secret")

// wrappingKey derives the key that wraps the master key in a key object
// with the given kdf, params and salt. It refuses a kdf that does not
// match the secret's kind, and parameters outside the accepted bounds.
func (s Secret) wrappingKey(kdf string, p *Argon2Params, salt []byte) ([32]byte, error) {
	var k [32]byte
	if len(salt) != saltSize {
		return k, fmt.Errorf("salt of %d bytes, want %d", len(salt), saltSize)
	}
	switch kdf {
	case kdfArgon2id:
		if s.kind != secretPassword {
			return k, errKDFMismatch
		}
		if p == nil {
			return k, errors.New("argon2id without parameters")
		}
		if err := p.check(); err != nil {
			return k, err
		}
		copy(k[:], argon2.IDKey(s.material, salt, p.Time, p.Memory, p.Threads, 32))
	case kdfNone:
		if s.kind != secretKeyFile {
			return k, errKDFMismatch
		}
		// The key file is random already: a hash of salt and the whole
		// file suffices; the salt is fixed-length, so the input is
		// unambiguous.
		blake3.DeriveKey(ctxKeyFile, append(append([]byte(nil), salt...), s.material...), k[:])
	default:
		return k, fmt.Errorf("unknown kdf %q", kdf)
	}
	return k, nil
}
