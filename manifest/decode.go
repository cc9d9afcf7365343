package manifest

import (
	"encoding/binary"
	"fmt"
	"math"
)

// cursor reads the fields of one payload. The first failure sticks in err;
// later reads then return zero values, so callers check err once at the end
// and never index past the payload.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	c.b = nil
}

func (c *cursor) byte() byte {
	if len(c.b) == 0 {
		c.fail("payload too short")
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cursor) uvarint() uint64 {
	v, n := binary.Uvarint(c.b)
	if n <= 0 {
		c.fail("bad uvarint")
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *cursor) varint() int64 {
	v, n := binary.Varint(c.b)
	if n <= 0 {
		c.fail("bad varint")
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *cursor) uint32() uint32 {
	v := c.uvarint()
	if v > math.MaxUint32 {
		c.fail("%d does not fit 32 bits", v)
		return 0
	}
	return uint32(v)
}

// bytes returns a length-prefixed byte string of at most limit bytes. The
// result aliases the payload.
func (c *cursor) bytes(limit int) []byte {
	n := c.uvarint()
	if n > uint64(limit) {
		c.fail("length %d over the limit %d", n, limit)
		return nil
	}
	return c.fixed(int(n))
}

// fixed returns the next n bytes. The result aliases the payload.
func (c *cursor) fixed(n int) []byte {
	if n > len(c.b) {
		c.fail("payload too short")
		return nil
	}
	v := c.b[:n:n]
	c.b = c.b[n:]
	return v
}

// time decodes a Time in the format of version v: seconds and nanoseconds
// from version 2 on, int64 nanoseconds in version 1.
func (c *cursor) time(v byte) Time {
	if v == version1 {
		return TimeFromNano(c.varint())
	}
	sec := c.varint()
	return Time{Sec: sec, Nsec: c.uint32()}
}

// decodeEntry decodes an entry payload (tag included) of format version v
// that follows an entry with path prev. It checks the format, not the
// entry; see checkEntry. The entry shares no memory with payload.
func decodeEntry(payload []byte, prev string, v byte) (*Entry, error) {
	c := cursor{b: payload[1:]}
	e := &Entry{Type: Type(c.byte())}
	shared := c.uvarint()
	if shared > uint64(len(prev)) {
		c.fail("shared prefix %d longer than the previous path", shared)
	}
	if c.err != nil {
		return nil, c.err
	}
	e.Path = prev[:shared] + string(c.bytes(MaxPathLen-int(shared)))
	e.Mode = c.uint32()
	e.UID = c.uint32()
	e.GID = c.uint32()
	e.Size = c.varint()
	e.Mtime = c.time(v)
	e.Ctime = c.time(v)
	e.Inode = c.uvarint()
	e.Rdev = c.uvarint()
	e.Target = string(c.bytes(MaxPathLen))
	e.LinkTo = string(c.bytes(MaxPathLen))
	e.Xattrs = c.xattrs()
	if e.Type == TypeFile {
		copy(e.Hash[:], c.fixed(hashLen))
	}
	if c.err == nil && len(c.b) > 0 {
		c.fail("%d bytes after the entry", len(c.b))
	}
	if c.err != nil {
		return nil, c.err
	}
	return e, nil
}

// xattrs decodes an attribute list; nil when it is empty. An empty Value
// decodes as nil.
func (c *cursor) xattrs() []Xattr {
	n := c.uvarint()
	if n > MaxXattrs {
		c.fail("%d xattrs", n)
	}
	if c.err != nil || n == 0 {
		return nil
	}
	xs := make([]Xattr, n)
	for i := range xs {
		xs[i].Name = string(c.bytes(MaxXattrName))
		if v := c.bytes(MaxXattrValue); len(v) > 0 {
			xs[i].Value = append([]byte(nil), v...)
		}
	}
	return xs
}

// decodeTrailer decodes a trailer payload (tag included).
func decodeTrailer(payload []byte) (count, sum uint64, err error) {
	c := cursor{b: payload[1:]}
	count = c.uvarint()
	if b := c.fixed(sumLen); b != nil {
		sum = binary.LittleEndian.Uint64(b)
	}
	if c.err == nil && len(c.b) > 0 {
		c.fail("%d bytes after the trailer", len(c.b))
	}
	return count, sum, c.err
}
