package blockdiff

import (
	"context"
	"fmt"
)

// SourceIdentity is what says a regular file source still holds what an
// earlier Backup read: the same file (device and inode) with the same
// size, mtime and ctime. Nothing can write a file without moving its
// ctime, but the file system's time stamp tick bounds that: a write
// within one tick of the open goes unnoticed, as in source.changed.
type SourceIdentity struct {
	Dev       uint64 `json:"dev"`
	Ino       uint64 `json:"ino"`
	Size      int64  `json:"size"`
	MtimeSec  int64  `json:"mtime_sec"`
	MtimeNsec int64  `json:"mtime_nsec"`
	CtimeSec  int64  `json:"ctime_sec"`
	CtimeNsec int64  `json:"ctime_nsec"`
}

// IdentifySource returns the identity of src when it is a regular file
// (following symlinks, as Backup does), nil for a block device; other
// file types are an error, as in Backup.
func IdentifySource(src string) (*SourceIdentity, error) {
	s, err := openSource(src)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if !s.sparse {
		return nil, nil
	}
	fi, err := s.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return identityOf(fi), nil
}

// Reuse makes indexPath a copy of prev, the index of an earlier backup
// of a source that has not changed since (the caller compared its
// SourceIdentity), without reading the source: it asks the store about
// all of prev's distinct chunks at once (StatMany) and writes the index
// (durably, as WriteIndex) only when the store holds every one with the
// stored length prev records and none is in damaged. It reports false,
// writing nothing, when one is missing, of another length or damaged:
// then only a Backup that reads the source stores it again. The Stats
// count prev's chunks as reused; ReadBytes is 0.
func Reuse(ctx context.Context, prev *Index, store ChunkStore, indexPath string, damaged map[ID]bool) (bool, Stats, error) {
	st := Stats{Size: prev.Size}
	want := make(map[ID]uint32)
	err := prev.Each(func(_ int, e Entry) error {
		st.Chunks++
		if e.Hole() {
			st.Holes++
			return nil
		}
		st.ReusedChunks++
		want[e.ID] = e.Stored
		return nil
	})
	if err != nil {
		return false, Stats{}, fmt.Errorf("previous index: %w", err)
	}
	ids := make([]ID, 0, len(want))
	for id := range want {
		if damaged[id] {
			return false, Stats{}, nil
		}
		ids = append(ids, id)
	}
	sizes, err := store.StatMany(ctx, ids)
	if err != nil {
		return false, Stats{}, fmt.Errorf("check the chunks of the previous index: %w", err)
	}
	for i, id := range ids {
		if sizes[i] != int64(want[id]) {
			return false, Stats{}, nil
		}
	}
	if err := WriteIndex(indexPath, prev); err != nil {
		return false, Stats{}, err
	}
	return true, st, nil
}
