package state

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestComplete(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := &State{LVs: []LV{
		{VG: "vg", Name: "pool", Segtype: "thin-pool"},
		{VG: "vg", Name: "a", Segtype: "thin", Pool: "pool"},
		{VG: "vg", Name: "b", Segtype: "thin", Pool: "pool", ThinID: 7, UUID: "kept", Created: "2000-01-01 00:00:00 +0000"},
		{VG: "vg", Name: "c", Segtype: "thin", Pool: "pool"},
		{VG: "vg", Name: "lin", Segtype: "linear"},
		{VG: "vg", Name: "orphan", Segtype: "thin", Pool: "gone"},
	}}
	s.Complete(now)
	ids := []int{s.LVs[1].ThinID, s.LVs[2].ThinID, s.LVs[3].ThinID, s.LVs[4].ThinID, s.LVs[5].ThinID}
	if !slices.Equal(ids, []int{8, 7, 9, 0, 0}) {
		t.Errorf("thin ids %v, want [8 7 9 0 0]", ids)
	}
	pool := s.Find("vg", "pool")
	if pool.Meta == nil || pool.Meta.LastThinID != 9 || pool.Meta.Transaction != 0 {
		t.Fatalf("pool meta %+v", pool.Meta)
	}
	if b := s.LVs[2]; b.UUID != "kept" || b.Created != "2000-01-01 00:00:00 +0000" {
		t.Errorf("Complete changed what was set: %+v", b)
	}
	if a := s.LVs[1]; a.Created != "2026-11-27 12:00:00 +0000" || a.UUID == "" || a.UUID == s.LVs[3].UUID {
		t.Errorf("a: created %q, uuid %q (c's %q)", a.Created, a.UUID, s.LVs[3].UUID)
	}
	// A second run changes nothing; a new id is above every id given.
	s.Complete(now.Add(time.Hour))
	if s.LVs[1].ThinID != 8 || s.LVs[1].Created != "2026-11-27 12:00:00 +0000" {
		t.Errorf("second Complete changed a: %+v", s.LVs[1])
	}
	if id := pool.Meta.NewThinID(); id != 10 || pool.Meta.Transaction != 1 {
		t.Errorf("NewThinID = %d, transaction %d; want 10, 1", id, pool.Meta.Transaction)
	}
	if got := s.ByThinID(pool, 9); got == nil || got.Name != "c" {
		t.Errorf("ByThinID(9) = %+v", got)
	}
	if got := s.ByThinID(pool, 0); got != nil {
		t.Errorf("ByThinID(0) = %+v, want nil", got)
	}
}

func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}$`)
	seen := map[string]bool{}
	for range 100 {
		u := NewUUID()
		if !re.MatchString(u) || seen[u] {
			t.Fatalf("NewUUID() = %q: bad form or repeated", u)
		}
		seen[u] = true
	}
}

func TestBlockSectors(t *testing.T) {
	if got := (&ThinPool{}).BlockSectors(); got != DefaultDataBlockSize {
		t.Errorf("default: %d", got)
	}
	if got := (&ThinPool{DataBlockSize: 256}).BlockSectors(); got != 256 {
		t.Errorf("set: %d", got)
	}
}
