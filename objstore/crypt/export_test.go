package crypt

import "github.com/zeebo/blake3"

// KeysForTest returns every key the Store holds: the master key, the
// content key, the two name keys and the chunk-id key.
func (s *Store) KeysForTest() map[string][]byte {
	var content [32]byte
	blake3.DeriveKey(ctxContent, s.master[:], content[:])
	return map[string][]byte{
		"master":      s.master[:],
		"content":     content[:],
		"name SIV":    s.names.siv[:],
		"name stream": s.names.stream[:],
		"chunk id":    s.chunkID[:],
	}
}

// UnderNameForTest returns the underlying store's name of the object name.
func (s *Store) UnderNameForTest(name string) (string, error) { return s.names.sealName(name) }
