package engine

import "sync/atomic"

// Progress is what a running operation has done so far. The operation
// updates it from its workers; any goroutine may read it at any time.
type Progress struct {
	Entries    atomic.Int64 // entries (files, directories, ...) done
	Bytes      atomic.Int64 // logical bytes of the files done
	TotalBytes atomic.Int64 // expected total bytes; 0 when unknown
}

// add records one finished entry of n bytes; p may be nil.
func (p *Progress) add(n int64) {
	if p != nil {
		p.Entries.Add(1)
		p.Bytes.Add(n)
	}
}

// expect sets the expected total; p may be nil.
func (p *Progress) expect(total int64) {
	if p != nil {
		p.TotalBytes.Store(total)
	}
}
