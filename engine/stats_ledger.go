package engine

import "sync"

// nobody marks a ledger entry no backup has referenced yet (a chunk the
// store holds that no complete backup's index names).
const nobody = -2

// several marks a ledger entry referenced by more than one backup (or
// volume).
const several = -1

// shareEntry is one piece of storage counted once: its stored bytes,
// its raw (uncompressed) bytes for a chunk, and who references it.
type shareEntry struct {
	size, raw int64
	backup    int32 // the one backup (index into the run's list) referencing it, nobody or several
	volume    int32 // the one volume referencing it, nobody or several
	last      int32 // the volume that referenced it last: volumes are counted one after the other
	listed    bool  // recorded by known: the store holds it
}

// ledger counts pieces of storage (inodes, extents, chunks) once each
// and remembers which backup and volume alone references each, so that
// what pruning a backup would free is the sum of the pieces it alone
// holds. Its memory is one entry per distinct piece, never one per
// (backup, piece). Volumes must be counted one after the other (touch
// relies on it); the backups of one volume may be counted concurrently:
// every method is safe for concurrent use.
type ledger[K comparable] struct {
	mu        sync.Mutex // guards everything below
	m         map[K]shareEntry
	volStored []int64 // per volume: stored bytes of the distinct pieces it references
	volRaw    []int64 // per volume: raw bytes of the distinct pieces it references
	volCount  []int64 // per volume: how many distinct pieces it references
	refStored int64   // stored bytes of the distinct pieces any backup references
	refRaw    int64   // raw bytes of the same
	refCount  int64   // how many distinct pieces are referenced
}

func newLedger[K comparable](volumes int) *ledger[K] {
	return &ledger[K]{m: map[K]shareEntry{}, volStored: make([]int64, volumes), volRaw: make([]int64, volumes),
		volCount: make([]int64, volumes)}
}

// known records a piece that exists (a chunk the store holds) before
// any backup references it; touch then takes its size from here.
func (l *ledger[K]) known(k K, size int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[k] = shareEntry{size: size, backup: nobody, volume: nobody, last: nobody, listed: true}
}

// touch records that backup b of volume v references the piece k of
// size stored bytes (raw uncompressed ones). A piece already known keeps
// its first size. It reports whether the reference changed what the
// ledger knew: a piece new to the ledger, to the volume, or now shared
// by a second backup; the caller uses it to skip work that cannot change
// the count (mapping a hard-linked file's extents again).
func (l *ledger[K]) touch(k K, size, raw int64, b, v int32) (changed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	changed, _ = l.touchLocked(k, size, raw, b, v)
	return changed
}

// touchMissing is touch for a chunk: it reports whether this is the
// first reference to a chunk known not to be in the store (known never
// recorded it).
func (l *ledger[K]) touchMissing(k K, size, raw int64, b, v int32) (missing bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, missing = l.touchLocked(k, size, raw, b, v)
	return missing
}

func (l *ledger[K]) touchLocked(k K, size, raw int64, b, v int32) (changed, newUnlisted bool) {
	e, ok := l.m[k]
	if !ok {
		e = shareEntry{size: size, backup: nobody, volume: nobody, last: nobody}
	}
	if e.backup == nobody {
		newUnlisted = !e.listed
		e.raw = raw
		l.refStored += e.size
		l.refRaw += raw
		l.refCount++
	}
	changed = e.backup != b && e.backup != several
	switch e.backup {
	case nobody:
		e.backup = b
	case b, several:
	default:
		e.backup = several
	}
	if e.last != v {
		changed = true
		l.volStored[v] += e.size
		l.volRaw[v] += e.raw
		l.volCount[v]++
		if e.volume == nobody {
			e.volume = v
		} else {
			e.volume = several
		}
		e.last = v
	}
	l.m[k] = e
	return changed, newUnlisted
}

// unique adds to perBackup and perVolume the stored bytes of the pieces
// each backup or volume alone references, and returns the stored bytes
// of the pieces nobody references. Call it after every touch.
func (l *ledger[K]) unique(perBackup, perVolume []int64) (unreferenced int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.m {
		if e.backup >= 0 {
			perBackup[e.backup] += e.size
		}
		if e.volume >= 0 {
			perVolume[e.volume] += e.size
		}
		if e.backup == nobody {
			unreferenced += e.size
		}
	}
	return unreferenced
}
