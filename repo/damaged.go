package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DamagedFile is the name of the repository's list of damaged inodes.
//
// Grammar (JSON, written whole by temp file, fsync, rename, directory fsync;
// absent when nothing is recorded):
//
//	damaged  = {"format": "lvback-damaged", "version": 1, "inodes": [inode...]}
//	inode    = {"name": NAME, "ino": N, "blake3": HEX64, "size": N,
//	            "backup": ID, "paths": [PATH...]}
//
// One inode per (name, ino, blake3), sorted by name, ino, blake3. ino is the
// inode number inside the repository's file system (never the device
// number, which can change across reboots); blake3 is the content hash the
// manifests record for it, so a reused inode number with other content
// never matches; paths are the tree-relative paths (sorted, distinct) under
// which verify found the inode, in any backup of NAME; backup is one
// backup that held it.
const DamagedFile = "damaged.json"

const (
	damagedFormat  = "lvback-damaged"
	damagedVersion = 1
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
}

// Damaged returns the recorded damaged inodes, sorted; none when the list
// does not exist.
func (r *Repo) Damaged() ([]DamagedInode, error) {
	path := filepath.Join(r.Root, DamagedFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var l damagedList
	if err := json.Unmarshal(data, &l); err != nil || l.Format != damagedFormat {
		return nil, fmt.Errorf("%s: not a list of damaged inodes (remove it and run verify to record the damage again)", path)
	}
	if l.Version != damagedVersion {
		return nil, fmt.Errorf("%s: version %d, this lvback reads %d", path, l.Version, damagedVersion)
	}
	return l.Inodes, nil
}

// RecordDamaged adds inodes to the list and drops the recorded ones for
// which drop returns true (nil drops none), in one durable rewrite. An
// inode already recorded gains the new paths; nothing is written when the
// list does not change. Concurrent calls (two verify runs) are serialised.
func (r *Repo) RecordDamaged(add []DamagedInode, drop func(DamagedInode) bool) error {
	unlock, err := r.lockDamaged()
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := r.Damaged()
	if err != nil {
		return err
	}
	next := make([]DamagedInode, 0, len(cur)+len(add))
	for _, d := range cur {
		if drop == nil || !drop(d) {
			next = append(next, d)
		}
	}
	next = mergeDamaged(next, add)
	if slices.EqualFunc(cur, next, equalDamaged) {
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
func (r *Repo) writeDamaged(list []DamagedInode) error {
	path := filepath.Join(r.Root, DamagedFile)
	if len(list) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("clear %s: %w", path, err)
		}
		return syncDir(r.Root)
	}
	l := damagedList{Format: damagedFormat, Version: damagedVersion, Inodes: list}
	if err := writeJSON(path, l); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
