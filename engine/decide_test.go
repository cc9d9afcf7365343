package engine

import (
	"testing"
	"time"

	"github.com/lvback/lvback/manifest"
)

func TestDecide(t *testing.T) {
	start := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC).UnixNano()
	old := manifest.TimeFromNano(start - int64(time.Hour))
	base := manifest.Entry{Path: "f", Type: manifest.TypeFile, Mode: 0o644, UID: 1, GID: 2, Size: 10,
		Mtime: old, Ctime: old, Inode: 7, Xattrs: []manifest.Xattr{{Name: "user.a", Value: []byte("1")}}}
	tests := []struct {
		name     string
		change   func(e *manifest.Entry)
		noPrev   bool
		checksum bool
		want     action
	}{
		{"unchanged", func(e *manifest.Entry) {}, false, false, actLink},
		{"unchanged with --checksum", func(e *manifest.Entry) {}, false, true, actHashThenLink},
		{"new file", func(e *manifest.Entry) {}, true, false, actCopy},
		{"size", func(e *manifest.Entry) { e.Size++ }, false, false, actCopy},
		{"mtime", func(e *manifest.Entry) { e.Mtime.Nsec++ }, false, false, actCopy},
		{"mtime seconds", func(e *manifest.Entry) { e.Mtime.Sec++ }, false, false, actCopy},
		{"inode", func(e *manifest.Entry) { e.Inode++ }, false, false, actCopy},
		{"mode", func(e *manifest.Entry) { e.Mode = 0o600 }, false, false, actHashThenClone},
		{"uid", func(e *manifest.Entry) { e.UID = 9 }, false, false, actHashThenClone},
		{"gid", func(e *manifest.Entry) { e.GID = 9 }, false, false, actHashThenClone},
		{"ctime only", func(e *manifest.Entry) { e.Ctime.Nsec++ }, false, false, actHashThenClone},
		{"xattr", func(e *manifest.Entry) { e.Xattrs = nil }, false, false, actHashThenClone},
		{"was a symlink", func(e *manifest.Entry) {}, false, false, actCopy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, cur := base, base
			tt.change(&cur)
			p := &prev
			if tt.noPrev {
				p = nil
			}
			if tt.name == "was a symlink" {
				prev.Type = manifest.TypeSymlink
			}
			if got := decide(&cur, p, start, tt.checksum, false); got != tt.want {
				t.Fatalf("decide = %s, want %s", got, tt.want)
			}
		})
	}
}

// A file written in the same clock tick as the previous backup read it
// keeps its mtime; it must be re-hashed, not trusted (borg#3535).
func TestDecideMtimeRace(t *testing.T) {
	start := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC).UnixNano()
	for _, d := range []time.Duration{-time.Second, -time.Second / 2, 0, time.Millisecond, time.Hour} {
		mtime := manifest.TimeFromNano(start + int64(d))
		e := manifest.Entry{Type: manifest.TypeFile, Size: 1, Mtime: mtime, Ctime: mtime}
		if got := decide(&e, &e, start, false, false); got != actHashThenLink {
			t.Errorf("mtime %v from the previous start: %s, want hash-then-link", d, got)
		}
	}
	// Far in the future (beyond int64 nanoseconds): never trusted either.
	future := manifest.Time{Sec: 10413792000} // 2300
	e := manifest.Entry{Type: manifest.TypeFile, Size: 1, Mtime: future, Ctime: future}
	if got := decide(&e, &e, start, false, false); got != actHashThenLink {
		t.Errorf("mtime in 2300: %s, want hash-then-link", got)
	}
	for _, mtime := range []manifest.Time{
		manifest.TimeFromNano(start - int64(time.Second) - 1),
		manifest.TimeFromNano(start - 2*int64(time.Second)),
		{Sec: -11661710400, Nsec: 999999999}, // 1600, before int64 nanoseconds
	} {
		e := manifest.Entry{Type: manifest.TypeFile, Size: 1, Mtime: mtime}
		if got := decide(&e, &e, start, false, false); got != actLink {
			t.Errorf("old mtime %v: %s, want link", mtime, got)
		}
	}
}

// An inode verify recorded as damaged is never linked or reflinked, with
// or without --checksum (which compares the source with the previous
// manifest, not with the tree); a changed file is an ordinary copy.
func TestDecideDamaged(t *testing.T) {
	start := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC).UnixNano()
	old := manifest.TimeFromNano(start - int64(time.Hour))
	base := manifest.Entry{Path: "f", Type: manifest.TypeFile, Mode: 0o644, Size: 10, Mtime: old, Ctime: old, Inode: 7}
	tests := []struct {
		name     string
		change   func(e *manifest.Entry)
		checksum bool
		want     action
	}{
		{"unchanged", func(e *manifest.Entry) {}, false, actCopyDamaged},
		{"unchanged with --checksum", func(e *manifest.Entry) {}, true, actCopyDamaged},
		{"written near the previous start", func(e *manifest.Entry) { e.Mtime, e.Ctime = manifest.TimeFromNano(start), manifest.TimeFromNano(start) }, false, actCopyDamaged},
		{"chmod (would reflink)", func(e *manifest.Entry) { e.Mode = 0o600 }, false, actCopyDamaged},
		{"content changed", func(e *manifest.Entry) { e.Size++ }, false, actCopy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, cur := base, base
			tt.change(&cur)
			if tt.name == "written near the previous start" {
				prev = cur
			}
			if got := decide(&cur, &prev, start, tt.checksum, true); got != tt.want {
				t.Fatalf("decide = %s, want %s", got, tt.want)
			}
			if got := decide(&cur, &prev, start, tt.checksum, false); got == actCopyDamaged {
				t.Fatalf("decide without damage = %s", got)
			}
		})
	}
}
