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

// sumID returns the id of the raw chunk data.
func sumID(data []byte) ID { return blake3.Sum256(data) }

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
