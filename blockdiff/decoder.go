package blockdiff

// Decoder turns stored chunks back into raw chunks, checking each against
// its id, for readers outside this package that fetch chunks one at a time
// (a mounted image). It is safe for concurrent use.
type Decoder struct{ c *codec }

// NewDecoder returns a Decoder for up to workers concurrent calls on
// chunks of store.
func NewDecoder(workers int, store ChunkStore) (*Decoder, error) {
	c, err := newCodec(workers, store)
	if err != nil {
		return nil, err
	}
	return &Decoder{c: c}, nil
}

// Decode returns the raw chunk stored holds, which must be n bytes long and
// hash to id, or an error wrapping ErrCorruptChunk. The result may share
// storage with stored.
func (d *Decoder) Decode(stored []byte, n int, id ID) ([]byte, error) {
	return d.c.decode(make([]byte, 0, n), stored, n, id)
}

// Close releases the decoder's goroutines and buffers.
func (d *Decoder) Close() { d.c.close() }
