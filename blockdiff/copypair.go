package blockdiff

import (
	"errors"
	"io"
)

// CopyPair is one image copied between two chunk stores: From is its
// index over the source store, To the index CopyIndex wrote for it over
// the target store.
type CopyPair struct{ From, To *Index }

// pairs returns the source id -> target id pairs that p's two indexes
// imply (the entries at the same offset), leaving out any source id
// paired with two target ids; nil when p is nil or its indexes are not of
// one image shape or disagree on holes.
func (p *CopyPair) pairs() (map[ID]ID, error) {
	if p == nil || p.From.Size != p.To.Size || p.From.ChunkSize != p.To.ChunkSize {
		return nil, nil
	}
	a, err := p.From.entries(true)
	if err != nil {
		return nil, err
	}
	defer a.close()
	b, err := p.To.entries(true)
	if err != nil {
		return nil, err
	}
	defer b.close()
	out, bad := make(map[ID]ID), make(map[ID]bool)
	for {
		_, ea, err := a.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		_, eb, err := b.next()
		if err != nil {
			return nil, err
		}
		if ea.Hole() != eb.Hole() {
			return nil, nil // not one image
		}
		if ea.Hole() {
			continue
		}
		if t, ok := out[ea.ID]; ok && t != eb.ID {
			bad[ea.ID] = true
		}
		out[ea.ID] = eb.ID
	}
	if _, _, err := b.next(); !errors.Is(err, io.EOF) {
		return nil, err // the image hash of To does not match its list
	}
	for id := range bad {
		delete(out, id)
	}
	return out, nil
}
