package blockdiff

import (
	"encoding/hex"
	"fmt"

	"github.com/zeebo/blake3"
)

// ID identifies a chunk: the BLAKE3-256 of its raw (uncompressed) bytes.
type ID [32]byte

// String returns the id as 64 lower-case hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID parses the 64 lower-case hex digits String returns.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) || !isLowerHex(s) {
		return id, fmt.Errorf("invalid chunk id %q", s)
	}
	_, _ = hex.Decode(id[:], []byte(s)) // cannot fail: checked above
	return id, nil
}

// sumID returns the id of the raw chunk data in an unkeyed store.
func sumID(data []byte) ID { return blake3.Sum256(data) }

// KeyedIDs is implemented by a ChunkStore whose chunk ids may be keyed:
// an encrypted repository's, where an id is the keyed BLAKE3 of the data,
// so that the store cannot tell which data a host holds (the same data
// gets other ids in another repository). ok is false for plain ids.
type KeyedIDs interface {
	ChunkIDKey() (key [32]byte, ok bool)
}

// idFunc returns how store names chunks: the BLAKE3-256 of the raw data,
// keyed when the store says so (KeyedIDs).
func idFunc(store ChunkStore) func([]byte) ID {
	key, ok := idKey(store)
	if !ok {
		return sumID
	}
	return func(data []byte) ID {
		h, _ := blake3.NewKeyed(key[:]) // cannot fail: the key is 32 bytes
		_, _ = h.Write(data)
		var id ID
		h.Sum(id[:0])
		return id
	}
}

// idKey returns store's chunk id key, ok false for plain ids.
func idKey(store ChunkStore) (key [32]byte, ok bool) {
	if k, keyed := store.(KeyedIDs); keyed {
		return k.ChunkIDKey()
	}
	return key, false
}

// sameIDs reports whether two stores name the same data alike: both
// with plain ids, or both keyed with one key.
func sameIDs(a, b ChunkStore) bool {
	ka, oka := idKey(a)
	kb, okb := idKey(b)
	return oka == okb && ka == kb
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
