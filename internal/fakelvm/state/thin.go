package state

import (
	"crypto/rand"
	"time"
)

// TimeFormat is the format of LV.Created, as lvs prints lv_time.
const TimeFormat = "2006-01-02 15:04:05 -0700"

// DefaultDataBlockSize is the data block size, in 512-byte sectors, of a
// pool whose ThinPool.DataBlockSize is 0: 64 KiB, lvcreate's default for
// small pools.
const DefaultDataBlockSize = 128

// ThinPool is what the metadata of a thin pool holds beyond its volumes'
// mappings.
type ThinPool struct {
	// Transaction is the pool's transaction id: every lvcreate and
	// lvremove of a thin volume in the pool adds one.
	Transaction int `json:"transaction"`
	// Time is the superblock's time: every thin snapshot adds one.
	Time int `json:"time"`
	// LastThinID is the highest thin id the pool gave; ids are never
	// reused.
	LastThinID int `json:"last_thin_id"`
	// DataBlockSize is the block size in 512-byte sectors;
	// 0 means DefaultDataBlockSize.
	DataBlockSize int `json:"data_block_size,omitempty"`
	// Reserved is the metadata snapshot dmsetup's reserve_metadata_snap
	// took, until release_metadata_snap; nil when none is held.
	Reserved *MetadataSnap `json:"reserved,omitempty"`
}

// MetadataSnap is what a reserved metadata snapshot saw of its pool. The
// fake keeps no old mappings: thin_delta -m reads the volumes' images as
// they are now, but knows only the thin ids that existed at reservation.
type MetadataSnap struct {
	Transaction int   `json:"transaction"` // the pool's Transaction then
	Time        int   `json:"time"`        // the pool's Time then
	ThinIDs     []int `json:"thin_ids"`    // the thin ids of the pool then
}

// BlockSectors is the pool's data block size in 512-byte sectors.
func (p *ThinPool) BlockSectors() int {
	if p.DataBlockSize > 0 {
		return p.DataBlockSize
	}
	return DefaultDataBlockSize
}

// PoolOf returns the thin pool LV of the thin volume lv, or nil.
func (s *State) PoolOf(lv *LV) *LV {
	if lv.Segtype != "thin" || lv.Pool == "" {
		return nil
	}
	if p := s.Find(lv.VG, lv.Pool); p != nil && p.Segtype == "thin-pool" {
		return p
	}
	return nil
}

// ThinIDs returns the thin ids of the volumes of pool, in state order.
func (s *State) ThinIDs(pool *LV) []int {
	var ids []int
	for i := range s.LVs {
		if s.PoolOf(&s.LVs[i]) == pool && s.LVs[i].ThinID > 0 {
			ids = append(ids, s.LVs[i].ThinID)
		}
	}
	return ids
}

// ByThinID returns the thin volume of pool with thin id id, or nil.
func (s *State) ByThinID(pool *LV, id int) *LV {
	for i := range s.LVs {
		if s.PoolOf(&s.LVs[i]) == pool && s.LVs[i].ThinID == id {
			return &s.LVs[i]
		}
	}
	return nil
}

// NewThinID gives a new thin id, one above every id the pool gave before,
// and counts a transaction.
func (p *ThinPool) NewThinID() int {
	p.LastThinID++
	p.Transaction++
	return p.LastThinID
}

// Complete fills in what a test's state may lack: every volume gets a
// UUID and a creation time now, every thin pool its Meta, and every thin
// volume of a known pool a new thin id, in state order. It changes nothing
// already set, so the fake may call it on every run.
func (s *State) Complete(now time.Time) {
	for i := range s.LVs {
		lv := &s.LVs[i]
		if lv.UUID == "" {
			lv.UUID = NewUUID()
		}
		if lv.Created == "" {
			lv.Created = now.Format(TimeFormat)
		}
		if lv.Segtype == "thin-pool" && lv.Meta == nil {
			lv.Meta = &ThinPool{}
		}
	}
	for i := range s.LVs {
		lv := &s.LVs[i]
		if pool := s.PoolOf(lv); pool != nil {
			pool.Meta.LastThinID = max(pool.Meta.LastThinID, lv.ThinID)
		}
	}
	for i := range s.LVs {
		lv := &s.LVs[i]
		if pool := s.PoolOf(lv); pool != nil && lv.ThinID == 0 {
			pool.Meta.LastThinID++
			lv.ThinID = pool.Meta.LastThinID
		}
	}
}

// uuidChars are the characters of an LVM UUID.
const uuidChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewUUID returns a random UUID in LVM's form: 32 letters and digits in
// groups of 6-4-4-4-4-4-6 joined by '-'.
func NewUUID() string {
	b := make([]byte, 32)
	rand.Read(b)
	out := make([]byte, 0, 38)
	for i, c := range b {
		switch i {
		case 6, 10, 14, 18, 22, 26:
			out = append(out, '-')
		}
		out = append(out, uuidChars[int(c)%len(uuidChars)])
	}
	return string(out)
}
