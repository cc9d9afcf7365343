package blockdiff

import "encoding/binary"

// isZero reports whether b holds only zero bytes. It ORs eight 64-bit
// words at a time and stops at the first non-zero group, so non-zero data
// (the common case) costs a few nanoseconds and a zero chunk runs at
// memory speed (BenchmarkIsZero).
func isZero(b []byte) bool {
	for len(b) >= 64 {
		v := binary.LittleEndian.Uint64(b[0:]) | binary.LittleEndian.Uint64(b[8:]) |
			binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:]) |
			binary.LittleEndian.Uint64(b[32:]) | binary.LittleEndian.Uint64(b[40:]) |
			binary.LittleEndian.Uint64(b[48:]) | binary.LittleEndian.Uint64(b[56:])
		if v != 0 {
			return false
		}
		b = b[64:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
