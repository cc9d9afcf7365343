package manifest

import "encoding/binary"

// appendEntry appends the entry payload of e, whose predecessor has path
// prev, to dst. It does not validate e; see checkEntry.
func appendEntry(dst []byte, e *Entry, prev string) []byte {
	shared := commonPrefix(prev, e.Path)
	dst = append(dst, tagEntry, byte(e.Type))
	dst = binary.AppendUvarint(dst, uint64(shared))
	dst = appendString(dst, e.Path[shared:])
	dst = binary.AppendUvarint(dst, uint64(e.Mode))
	dst = binary.AppendUvarint(dst, uint64(e.UID))
	dst = binary.AppendUvarint(dst, uint64(e.GID))
	dst = binary.AppendVarint(dst, e.Size)
	dst = appendTime(dst, e.Mtime)
	dst = appendTime(dst, e.Ctime)
	dst = binary.AppendUvarint(dst, e.Inode)
	dst = binary.AppendUvarint(dst, e.Rdev)
	dst = appendString(dst, e.Target)
	dst = appendString(dst, e.LinkTo)
	dst = binary.AppendUvarint(dst, uint64(len(e.Xattrs)))
	for _, x := range e.Xattrs {
		dst = appendString(dst, x.Name)
		dst = appendString(dst, x.Value)
	}
	if e.Type == TypeFile {
		dst = append(dst, e.Hash[:]...)
	}
	return dst
}

// appendTrailer appends the trailer payload for count entries whose records
// hash to sum.
func appendTrailer(dst []byte, count int64, sum uint64) []byte {
	dst = append(dst, tagTrailer)
	dst = binary.AppendUvarint(dst, uint64(count))
	return binary.LittleEndian.AppendUint64(dst, sum)
}

// appendRecord appends payload to dst behind its length prefix.
func appendRecord(dst, payload []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	return append(dst, payload...)
}

// appendTime appends t as its seconds and nanoseconds.
func appendTime(dst []byte, t Time) []byte {
	dst = binary.AppendVarint(dst, t.Sec)
	return binary.AppendUvarint(dst, uint64(t.Nsec))
}

// appendString appends s behind its length prefix.
func appendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// commonPrefix returns the number of leading bytes a and b share.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
