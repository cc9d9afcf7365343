package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lvback/lvback/internal/durable"
)

// DamagedFile is the name of the repository's list of damaged things: the
// inodes of backup trees and the block-mode chunks that verify found not
// to match their hashes.
//
// Grammar (JSON, written whole by temp file, fsync, rename, directory fsync,
// under an flock(2) of damaged.lock; absent when nothing is recorded):
//
//	damaged  = {"format": "lvback-damaged", "version": 2,
//	            "inodes": [inode...], "chunks": [HEX64...]}
//	inode    = {"name": NAME, "ino": N, "blake3": HEX64, "size": N,
//	            "backup": ID, "paths": [PATH...]}
//
// One inode per (name, ino, blake3), sorted by name, ino, blake3. ino is the
// inode number inside the repository's file system (never the device
// number, which can change across reboots); blake3 is the content hash the
// manifests record for it, so a reused inode number with other content
// never matches; paths are the tree-relative paths (sorted, distinct) under
// which verify found the inode, in any backup of NAME; backup is one
// backup that held it. chunks are the ids (64 lower-case hex digits, the
// BLAKE3 of the raw chunk) of stored chunks found damaged, sorted and
// distinct. Version 1, written before chunks were listed, has no "chunks"
// and is read as having none.
const DamagedFile = "damaged.json"

const (
	damagedFormat  = "lvback-damaged"
	damagedVersion = 2
	damagedLock    = "damaged.lock" // flock(2) held while the list is read and rewritten
)

// DamagedInode is one inode of a backup tree whose content verify found
// not to match its manifest: the next backup copies its files instead of
// linking them, and verify --repair replaces it.
type DamagedInode struct {
	Name   string   `json:"name"`   // volume name
	Ino    uint64   `json:"ino"`    // inode number in the repository
	BLAKE3 string   `json:"blake3"` // hex content hash the manifests record
	Size   int64    `json:"size"`
	Backup string   `json:"backup"` // ID of a backup that held it
	Paths  []string `json:"paths"`  // tree-relative paths it was found at
}

// Same reports whether d and o name the same damaged inode.
func (d DamagedInode) Same(o DamagedInode) bool {
	return d.Name == o.Name && d.Ino == o.Ino && d.BLAKE3 == o.BLAKE3
}

func (d DamagedInode) compare(o DamagedInode) int {
	if c := strings.Compare(d.Name, o.Name); c != 0 {
		return c
	}
	if d.Ino != o.Ino {
		if d.Ino < o.Ino {
			return -1
		}
		return 1
	}
	return strings.Compare(d.BLAKE3, o.BLAKE3)
}

type damagedList struct {
	Format  string         `json:"format"`
	Version int            `json:"version"`
	Inodes  []DamagedInode `json:"inodes"`
	Chunks  []string       `json:"chunks"`
}

func (l *damagedList) empty() bool { return len(l.Inodes) == 0 && len(l.Chunks) == 0 }

func (l *damagedList) equal(o *damagedList) bool {
	return slices.EqualFunc(l.Inodes, o.Inodes, equalDamaged) && slices.Equal(l.Chunks, o.Chunks)
}

// Damaged returns the recorded damaged inodes, sorted; none when the list
// does not exist.
func (r *Repo) Damaged() ([]DamagedInode, error) {
	l, err := r.readDamaged()
	return l.Inodes, err
}

// DamagedChunks returns the recorded damaged chunks' ids (64 lower-case
// hex digits), sorted; none when the list does not exist.
func (r *Repo) DamagedChunks() ([]string, error) {
	l, err := r.readDamaged()
	return l.Chunks, err
}

// readDamaged reads the list; a missing file is an empty list, anything
// that is not a list this lvback reads is an error (never an empty list:
// the next backup would link, or keep, damaged data).
func (r *Repo) readDamaged() (*damagedList, error) {
	path := filepath.Join(r.Root, DamagedFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &damagedList{}, nil
	}
	if err != nil {
		return &damagedList{}, fmt.Errorf("read %s: %w", path, err)
	}
	var l damagedList
	if err := json.Unmarshal(data, &l); err != nil || l.Format != damagedFormat {
		return &damagedList{}, fmt.Errorf("%s: not a list of damaged inodes and chunks (remove it and run verify to record the damage again)", path)
	}
	if l.Version != 1 && l.Version != damagedVersion {
		return &damagedList{}, fmt.Errorf("%s: version %d, this lvback reads 1 and %d", path, l.Version, damagedVersion)
	}
	for _, c := range l.Chunks {
		if !validChunkID(c) {
			return &damagedList{}, fmt.Errorf("%s: invalid chunk id %q", path, c)
		}
	}
	return &l, nil
}

// validChunkID reports whether s is 64 lower-case hex digits.
func validChunkID(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// RecordDamaged adds inodes to the list and drops the recorded ones for
// which drop returns true (nil drops none), in one durable rewrite. An
// inode already recorded gains the new paths; nothing is written when the
// list does not change. Concurrent calls (two verify runs, a verify and a
// backup) are serialised with each other and with RecordDamagedChunks.
func (r *Repo) RecordDamaged(add []DamagedInode, drop func(DamagedInode) bool) error {
	return r.updateDamaged(func(l *damagedList) {
		next := make([]DamagedInode, 0, len(l.Inodes)+len(add))
		for _, d := range l.Inodes {
			if drop == nil || !drop(d) {
				next = append(next, d)
			}
		}
		l.Inodes = mergeDamaged(next, add)
	})
}

// RecordDamagedChunks adds the chunk ids add (64 lower-case hex digits) to
// the list and drops those in drop, in one durable rewrite; nothing is
// written when the list does not change. It is serialised as RecordDamaged
// is.
func (r *Repo) RecordDamagedChunks(add, drop []string) error {
	if len(add) == 0 && len(drop) == 0 {
		return nil
	}
	for _, c := range add {
		if !validChunkID(c) {
			return fmt.Errorf("record damaged chunk: invalid chunk id %q", c)
		}
	}
	dropped := make(map[string]bool, len(drop))
	for _, c := range drop {
		dropped[c] = true
	}
	return r.updateDamaged(func(l *damagedList) {
		next := slices.DeleteFunc(append(l.Chunks, add...), func(c string) bool { return dropped[c] })
		slices.Sort(next)
		l.Chunks = slices.Compact(next)
	})
}

// updateDamaged is the list's one writer: under the lock, it reads the
// list, lets change edit a copy, and rewrites the list when it changed.
func (r *Repo) updateDamaged(change func(*damagedList)) error {
	unlock, err := r.lockDamaged()
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := r.readDamaged()
	if err != nil {
		return err
	}
	next := &damagedList{Inodes: slices.Clone(cur.Inodes), Chunks: slices.Clone(cur.Chunks)}
	change(next)
	if cur.equal(next) {
		return nil
	}
	return r.writeDamaged(next)
}

// mergeDamaged adds each of add to list (a known inode gains its paths)
// and returns the list sorted.
func mergeDamaged(list, add []DamagedInode) []DamagedInode {
	for _, a := range add {
		i := slices.IndexFunc(list, a.Same)
		if i < 0 {
			a.Paths = slices.Clone(a.Paths)
			list = append(list, a)
			i = len(list) - 1
		} else {
			list[i].Paths = append(slices.Clone(list[i].Paths), a.Paths...)
		}
		slices.Sort(list[i].Paths)
		list[i].Paths = slices.Compact(list[i].Paths)
	}
	slices.SortFunc(list, DamagedInode.compare)
	return list
}

func equalDamaged(a, b DamagedInode) bool {
	return a.Same(b) && a.Size == b.Size && a.Backup == b.Backup && slices.Equal(a.Paths, b.Paths)
}

// writeDamaged replaces the list durably; an empty list removes the file.
func (r *Repo) writeDamaged(l *damagedList) error {
	path := filepath.Join(r.Root, DamagedFile)
	if l.empty() {
		if err := durable.Remove(path); err != nil {
			return fmt.Errorf("clear %s: %w", path, err)
		}
		return nil
	}
	out := damagedList{Format: damagedFormat, Version: damagedVersion, Inodes: l.Inodes, Chunks: l.Chunks}
	if out.Inodes == nil {
		out.Inodes = []DamagedInode{}
	}
	if out.Chunks == nil {
		out.Chunks = []string{}
	}
	if err := writeJSON(path, out); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
