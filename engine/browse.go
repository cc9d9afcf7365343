package engine

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// BrowseEntry is one entry of a backup as ls and find report it, read
// from the backup's manifest (the source's metadata at backup time). The
// JSON keys are a stable interface. JSON turns bytes that are not UTF-8
// into U+FFFD, so a path, target or link_to that is not valid UTF-8 also
// comes as its raw bytes (base64 in JSON) in the field named *_raw.
type BrowseEntry struct {
	Path  string    `json:"path"` // absolute in the backup: "/" is its root
	Type  string    `json:"type"` // manifest.Type's name, or "image" for a block backup
	Mode  uint32    `json:"mode"` // permission bits with setuid, setgid and sticky (07777)
	UID   uint32    `json:"uid"`
	GID   uint32    `json:"gid"`
	Size  int64     `json:"size"`
	Mtime time.Time `json:"mtime"`
	// Hash is a regular file's BLAKE3 (hex); ImageHash a block backup's
	// image hash (blockdiff's, not a flat hash of the bytes).
	Hash      string      `json:"hash,omitempty"`
	ImageHash string      `json:"image_hash,omitempty"`
	Target    string      `json:"target,omitempty"`  // a symlink's target
	LinkTo    string      `json:"link_to,omitempty"` // a hard link's earlier path, absolute
	Rdev      *DevNumbers `json:"rdev,omitempty"`    // a char or block device's numbers
	PathRaw   []byte      `json:"path_raw,omitempty"`
	TargetRaw []byte      `json:"target_raw,omitempty"`
	LinkToRaw []byte      `json:"link_to_raw,omitempty"`
}

// DevNumbers are a device's major and minor numbers.
type DevNumbers struct {
	Major int64 `json:"major"`
	Minor int64 `json:"minor"`
}

// browseEntry converts a manifest entry.
func browseEntry(e *manifest.Entry) BrowseEntry {
	be := BrowseEntry{Path: "/" + e.Path, Type: e.Type.String(), Mode: e.Mode, UID: e.UID, GID: e.GID,
		Size: e.Size, Mtime: time.Unix(e.Mtime.Sec, int64(e.Mtime.Nsec)).UTC(), Target: e.Target}
	if e.Type == manifest.TypeFile {
		be.Hash = hex.EncodeToString(e.Hash[:])
	}
	if e.LinkTo != "" {
		be.LinkTo = "/" + e.LinkTo
	}
	if e.Type == manifest.TypeChar || e.Type == manifest.TypeBlock {
		major, minor := devNumbers(e.Rdev)
		be.Rdev = &DevNumbers{Major: major, Minor: minor}
	}
	be.PathRaw, be.TargetRaw, be.LinkToRaw = rawBytes(be.Path), rawBytes(be.Target), rawBytes(be.LinkTo)
	return be
}

// rawBytes is s's bytes when s is not valid UTF-8 (what JSON cannot carry
// as a string), else nil.
func rawBytes(s string) []byte {
	if utf8.ValidString(s) {
		return nil
	}
	return []byte(s)
}

// ModeString is the entry's mode as ls -l prints it ("drwxr-xr-x",
// "-rwsr-xr-x"; an image is a regular file): manifest.ModeString.
func (be BrowseEntry) ModeString() string {
	return manifest.ModeString(manifest.TypeNamed(be.Type), be.Mode)
}

// pathArg is a PATH given to ls or dump, as a manifest path.
type pathArg struct {
	sub string // the manifest path: "" is the root
	dir bool   // PATH ended in a slash: it must name a directory
}

// backupPath turns a path given on the command line ("/etc", "etc/",
// "/") into a manifest path ("etc", ""), remembering a trailing slash (as
// ls does, "/etc/fstab/" is then not a directory); what cannot be one is
// a usage error wrapping manifest.ErrBadPath.
func backupPath(p string) (pathArg, error) {
	sub := strings.Trim(filepath.ToSlash(filepath.Clean("/"+p)), "/")
	if err := manifest.ValidPath(sub); err != nil {
		return pathArg{}, err
	}
	return pathArg{sub: sub, dir: strings.HasSuffix(p, "/")}, nil
}

// notDir is the error for a PATH ending in a slash that names something
// other than a directory (a symlink is not followed, even to one).
func notDir(sub, what string) error {
	return fmt.Errorf("path /%s/: %w: not a directory (a %s)", sub, ErrNotApplicable, what)
}

// imagePath checks a PATH given for the block backup b: its root and its
// image, /NAME.img (as ls lists it), both name the image; anything else
// wraps repo.ErrNotFound, /NAME.img/ ErrNotApplicable.
func imagePath(b *repo.Backup, p pathArg) error {
	img := b.Name + ".img"
	switch {
	case p.sub == "":
		return nil
	case p.sub == img && p.dir:
		return notDir(img, "block backup's image")
	case p.sub == img:
		return nil
	}
	return fmt.Errorf("path /%s: %w in backup %s/%s (a block backup holds one image, /%s)", p.sub, repo.ErrNotFound, b.Name, b.ID, img)
}

// openBackup opens the repository and picks the complete backup id of
// name ("" or "latest": the newest).
func openBackup(repoPath, name, id string) (*repo.Repo, *repo.Backup, error) {
	if name == "" {
		return nil, nil, errors.New("a volume name is needed")
	}
	r, err := repo.Open(repoPath)
	if err != nil {
		return nil, nil, err
	}
	b, err := r.Pick(name, id)
	if err != nil {
		return nil, nil, err
	}
	return r, b, nil
}

// below reports whether p is sub itself or beneath it ("" holds all).
func below(p, sub string) bool {
	return sub == "" || p == sub || strings.HasPrefix(p, sub+"/")
}

// openAt opens file backup b's manifest and reads it up to the entry at
// p, which it returns with the reader positioned just past it (the caller
// closes the reader); a path the backup does not hold (or holds only
// through a symlink) wraps repo.ErrNotFound. The manifest is in Compare
// order, so the scan stops at the first entry past p. A p ending in a
// slash that names anything but a directory wraps ErrNotApplicable.
func openAt(b *repo.Backup, p pathArg) (*manifest.Reader, *manifest.Entry, error) {
	mr, err := manifest.Open(b.ManifestPath())
	if err != nil {
		return nil, nil, err
	}
	e, err := scanTo(mr, p.sub, b.Name+"/"+b.ID)
	if err == nil && p.dir && e.Type != manifest.TypeDir {
		err = notDir(p.sub, e.Type.String())
	}
	if err != nil {
		mr.Close()
		return nil, nil, err
	}
	return mr, e, nil
}

// scanTo reads mr up to the entry at sub and returns it (see openAt).
func scanTo(mr *manifest.Reader, sub, backup string) (*manifest.Entry, error) {
	for {
		e, err := mr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		if c := manifest.Compare(e.Path, sub); c == 0 {
			return e, nil
		} else if c > 0 {
			break
		}
	}
	return nil, fmt.Errorf("path /%s: %w in backup %s", sub, repo.ErrNotFound, backup)
}
