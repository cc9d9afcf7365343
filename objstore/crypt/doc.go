// Package crypt owns the encryption of a repository's objects: a Store
// that wraps any objstore.Store and encrypts and authenticates the
// content and the name of every object put through it, the key objects
// that hold its master key wrapped under users' passwords or key files,
// and the keyed chunk ids (ChunkIDKey) that keep the store from telling
// which known data a host holds. It never prints, never asks for a
// password (a Secret is handed to it), never writes when it only opens,
// and never rewrites an object when a key changes.
//
// # Format
//
// In the underlying store, an encrypted repository is
//
//	repository  = { key-object } { data-object }
//	key-object  = "keys/" id              ; plaintext name, JSON content
//	id          = 32 * hex-lower           ; 16 random bytes
//	data-object = "data/" enc-component { "/" enc-component }
//
// A key object's content is a JSON object (byte strings in standard
// base64):
//
//	{ "version": 1,
//	  "kdf": "argon2id" | "none",
//	  "argon2id": { "memory_kib": M, "time": T, "threads": P },  ; argon2id only
//	  "salt": 16 random bytes,
//	  "nonce": 24 random bytes,
//	  "wrapped_key": 48 bytes,             ; XChaCha20-Poly1305(W, nonce, master, ad = "keys/" id)
//	  "created": RFC 3339 time }           ; informative, not authenticated
//
// where the wrapping key W is, for "argon2id", argon2id(password, salt,
// T, M, P, 32) and, for "none", a key file of 32 bytes to 1 MiB used
// whole: BLAKE3-derive-key("lvback 2026-11 objstore/crypt key file
// wrapping key v1", salt || file). A new password gets M = 65536 KiB
// (64 MiB), T = 3, P = 4 (RFC 9106's second recommended option); Open
// accepts M up to 2 GiB, T up to 100, P up to 64, and refuses more, so a
// damaged key object cannot exhaust the host. Every key object wraps the
// same random 32-byte master key, so adding, removing or changing a key
// rewrites no other object.
//
// From the master key K come four keys, each BLAKE3-derive-key(context,
// K) with the context "lvback 2026-11 objstore/crypt " followed by
// "object content key v1" (Kc), "name SIV key v1" (Ks), "name stream
// key v1" (Kn) and "chunk id key v1" (ChunkIDKey).
//
// An object named n with content c is stored as
//
//	data-content = version nonce ciphertext
//	version      = %x01
//	nonce        = 24 random bytes, fresh for every Put
//	ciphertext   = XChaCha20-Poly1305(Kc, nonce, c, ad = version || n)  ; len(c) + 16 bytes
//
// Binding the plaintext name n makes an object moved, copied or swapped
// to another name fail authentication. Stat and List report len(c), the
// stored size less 41.
//
// Each component p of a name, below the plaintext parent path a (the
// components before it joined by "/", "" for the first), is encrypted
// deterministically, so that Get, Stat, Delete and List find it again,
// with SIV (synthetic IV, Rogaway and Shrimpton's deterministic
// authenticated encryption):
//
//	siv           = first 16 bytes of BLAKE3-keyed(Ks, le64(len(a)) || a || p)
//	keystream     = XChaCha20(Kn, nonce = siv || 8 zero bytes)
//	enc-component = base32-lower-nopad(siv || (p XOR keystream))    ; len(p) + 16 bytes
//
// Opening a component recomputes siv from the decrypted p and refuses a
// mismatch or a non-canonical encoding. A component holds at most
// MaxNameComponent (100) plaintext bytes, so at most 186 characters; the
// lowercase base32 alphabet never starts a name with "." and is safe on
// case-insensitive file systems. Equal components under equal parents
// encrypt equally (that is how names are found again); the store learns
// the tree's shape, the components' lengths and the objects' sizes, not
// their text.
//
// # Why these primitives
//
// XChaCha20-Poly1305 takes 192-bit nonces, so a random nonce per object
// is safe for any number of objects written by any number of hosts (a
// 96-bit AES-GCM nonce is not, past about 2^32 objects), and it is fast
// without AES instructions, which small NAS and ARM hosts lack. Argon2id
// is memory-hard, so each guess of a password costs an attacker 64 MiB,
// not only time, which blunts GPU and ASIC guessing; it is the variant RFC
// 9106 recommends, resisting time-memory trade-offs like argon2d and side
// channels like argon2i. BLAKE3, already used for chunk ids, derives the
// subkeys and the SIV.
package crypt
