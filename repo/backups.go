package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lvback/lvback/lvm"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/exclude"
)

// Names of the parts of one backup directory.
const (
	TreeDir      = "tree"
	ManifestFile = "manifest.zst"
	InfoFile     = "info.json"
	IndexFile    = "index.zst"    // block mode: the chunk list that replaces tree and manifest
	ExcludedFile = "excluded.zst" // the entries exclude rules left out: a manifest (see Info.Excludes)
	chunksDir    = "chunks"
	partialExt   = ".partial"
	deletingExt  = ".deleting"
	idLayout     = "2006-01-02T150405Z"
)

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	// idRE matches the IDs nextID makes: the sequence number is 2 to
	// maxSeq without leading zeros, so each backup has exactly one name.
	idRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{6}Z)(?:-([2-9]|[1-9]\d{1,5}))?$`)
)

// maxSeq is the largest sequence number of an ID (six digits).
const maxSeq = 999999

// ValidName checks a volume name: 1–128 characters from [A-Za-z0-9._-],
// not starting with a dot or dash, so it is always one safe path component.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid volume name %q: use 1-128 of A-Z a-z 0-9 . _ - , starting with a letter or digit", name)
	}
	return nil
}

// The modes of a backup as Info.Mode records them; the config's mode and
// the --mode flag of backup take the same words.
const (
	ModeFiles  = "files"  // a browsable tree (TreeDir) and a manifest
	ModeBlocks = "blocks" // an image's chunk index (IndexFile) over the chunk store
)

// Info is what a finished run records about its backup. Its presence in a
// directory named like an ID (no suffix) is what makes a backup complete.
type Info struct {
	Format          string       `json:"format"`
	Name            string       `json:"name"`
	ID              string       `json:"id"`
	Mode            string       `json:"mode"` // ModeFiles or ModeBlocks
	Source          string       `json:"source"`
	Started         time.Time    `json:"started"`
	Finished        time.Time    `json:"finished"`
	Files           int64        `json:"files"`
	Dirs            int64        `json:"dirs"`
	Symlinks        int64        `json:"symlinks"`
	Specials        int64        `json:"specials"`
	Size            int64        `json:"size"`
	AddedBytes      int64        `json:"added_bytes"`
	Copied          int64        `json:"copied"`
	Linked          int64        `json:"linked"`
	Reflinked       int64        `json:"reflinked"`
	DamagedCopied   int64        `json:"damaged_copied,omitempty"` // of Copied: recorded damaged by verify, not linked
	Errors          int64        `json:"errors"`
	ErrorSamples    []EntryError `json:"error_samples,omitempty"`
	ManifestEntries int64        `json:"manifest_entries"`
	ManifestBLAKE3  string       `json:"manifest_blake3"`
	// Excludes are the exclude rules the backup applied; nil when none.
	// Then ExcludedFile lists, as manifest entries, the entries they left
	// out (not what is below them), and Excluded counts them.
	Excludes *Excludes `json:"excludes,omitempty"`
	Excluded int64     `json:"excluded,omitempty"`
	// ExcludesChanged says how the rules differ from those of the previous
	// backup of the name (one line each); empty when they do not.
	ExcludesChanged []string `json:"excludes_changed,omitempty"`
	// SourceWarning says why a block-mode image may be inconsistent: its
	// source was not a snapshot lvback made and may have been written
	// while it was read. SourceChanged says it was: an image file's size,
	// mtime or ctime moved during the read.
	SourceWarning string `json:"source_warning,omitempty"`
	SourceChanged bool   `json:"source_changed,omitempty"`
	// SourceFile is a block-mode image file's identity when it was read
	// (nil for a device, an LV snapshot, or a file that changed while it
	// was read). ReusedIndex names the backup (ID) whose index this one
	// copied without reading the source, because the source's identity
	// had not moved since; ReadBytes counts the bytes a block backup read.
	SourceFile  *FileIdentity `json:"source_file,omitempty"`
	ReusedIndex string        `json:"reused_index,omitempty"`
	ReadBytes   int64         `json:"read_bytes,omitempty"`
	// Thin is the thin snapshot a block backup of a thin LV read; the
	// next backup compares it with thin_delta when that snapshot is the
	// one kept. ReadMode says what was read: "thin_delta" (only the
	// chunks thin_delta named, ChangedBytes of them) or "full"
	// (FullReadReason says why). LastFullRead is when the volume's newest
	// full read started. KeptSnapshotBytes is what thin_delta found to
	// differ between the kept snapshot and the new one: the pool space
	// the kept snapshot held alone until this backup replaced it.
	Thin              *ThinSource `json:"thin,omitempty"`
	ReadMode          string      `json:"read_mode,omitempty"`
	FullReadReason    string      `json:"full_read_reason,omitempty"`
	LastFullRead      *time.Time  `json:"last_full_read,omitempty"`
	ChangedBytes      int64       `json:"changed_bytes,omitempty"`
	KeptSnapshotBytes int64       `json:"kept_snapshot_bytes,omitempty"`
	// CopiedFrom, set on a backup lvback copy made, names the repository
	// it was copied from, which holds it under the same name and ID. The
	// rest of the info is that backup's (source, times, counts), but for
	// what the copy stored in this repository: AddedBytes, Copied, Linked
	// and Reflinked, and in block mode ManifestBLAKE3 (the hash of this
	// repository's index, whose chunk ids may differ).
	CopiedFrom *CopyOrigin `json:"copied_from,omitempty"`
}

// CopyOrigin is where a copied backup came from (Info.CopiedFrom).
type CopyOrigin struct {
	Repo   string    `json:"repo"`    // the source repository's path or s3: location
	RepoID string    `json:"repo_id"` // its id (lvback-repository.json)
	Copied time.Time `json:"copied"`  // when the copy started
}

// ThinSource is a thin snapshot's identity in its pool, as info.json
// records it (see lvm.ThinVolume).
type ThinSource = lvm.ThinVolume

// Read modes of a block backup of a thin LV (Info.ReadMode).
const (
	ReadThinDelta = "thin_delta"
	ReadFull      = "full"
)

// FileIdentity is an image file's device, inode, size, mtime and ctime,
// as info.json records them (see blockdiff.SourceIdentity).
type FileIdentity = blockdiff.SourceIdentity

// Excludes are a backup's exclude rules as given (exclude files as the
// patterns read from them), with their exclude.Spec.Hash.
type Excludes struct {
	exclude.Spec
	Hash string `json:"hash"`
}

// EntryError is one path the run could not back up, and why.
type EntryError struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// Backup is one dated backup of a volume name, complete or not.
type Backup struct {
	Name     string
	ID       string
	Time     time.Time // from the ID, UTC, to the second
	Seq      int       // disambiguates IDs made in the same second
	Complete bool
	Partial  bool   // named ID.partial: a run in progress or one a crash left
	Dir      string // absolute directory holding tree/, manifest and info
	Info     *Info  // nil unless Complete
	// Labels are a complete backup's tags and protection (LabelsFile);
	// LabelsErr says why its labels file could not be read (then Labels
	// is empty, and prune keeps the backup: it may be protected).
	Labels    Labels
	LabelsErr error
}

// TreePath is the directory that holds the browsable copy of the volume.
func (b *Backup) TreePath() string { return filepath.Join(b.Dir, TreeDir) }

// ManifestPath is the backup's manifest file.
func (b *Backup) ManifestPath() string { return filepath.Join(b.Dir, ManifestFile) }

// ExcludedPath is the list of entries the backup's exclude rules left out
// (present only when Info.Excludes is set).
func (b *Backup) ExcludedPath() string { return filepath.Join(b.Dir, ExcludedFile) }

// IndexPath is a block-mode backup's chunk index.
func (b *Backup) IndexPath() string { return filepath.Join(b.Dir, IndexFile) }

// Blocks reports whether the backup is a block-mode image (index and
// chunks) rather than a file tree.
func (b *Backup) Blocks() bool { return b.Info != nil && b.Info.Mode == ModeBlocks }

// ChunksDir is the chunk store every block-mode backup of the repository
// shares.
func (r *Repo) ChunksDir() string { return filepath.Join(r.Root, chunksDir) }

// Names lists the volume names that have a directory in the repository.
func (r *Repo) Names() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(r.Root, backupsDir))
	if err != nil {
		return nil, fmt.Errorf("list repository: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && ValidName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Backups lists the backups of name, oldest first. Directories and files
// that lvback did not name are ignored, never reported as backups.
func (r *Repo) Backups(name string) ([]Backup, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	dir := filepath.Join(r.Root, backupsDir, name)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups of %s: %w", name, err)
	}
	var out []Backup
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if strings.HasSuffix(e.Name(), deletingExt) {
			continue // being pruned: no longer a backup
		}
		id, partial := strings.CutSuffix(e.Name(), partialExt)
		t, seq, ok := parseID(id)
		if !ok {
			continue
		}
		b := Backup{Name: name, ID: id, Time: t, Seq: seq, Partial: partial, Dir: filepath.Join(dir, e.Name())}
		if !partial {
			if info, err := readInfo(filepath.Join(b.Dir, InfoFile)); err == nil && info.ID == id && info.Name == name {
				b.Info, b.Complete = info, true
				b.Labels, b.LabelsErr = readLabels(b.Dir)
			}
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i], out[j]) })
	return out, nil
}

// Latest returns the newest complete backup of name, or nil if none exists.
func (r *Repo) Latest(name string) (*Backup, error) {
	bs, err := r.Backups(name)
	if err != nil {
		return nil, err
	}
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i].Complete {
			return &bs[i], nil
		}
	}
	return nil, nil
}

// ErrNotFound reports a backup (or a path in one) that the repository does
// not hold: the caller asked for something that is not there.
var ErrNotFound = errors.New("not found")

// ErrIncomplete reports a backup that exists but never completed, so it
// cannot be read as a backup.
var ErrIncomplete = errors.New("incomplete")

// Find returns the backup of name with the given id, complete or not; an
// unknown id wraps ErrNotFound.
func (r *Repo) Find(name, id string) (*Backup, error) {
	bs, err := r.Backups(name)
	if err != nil {
		return nil, err
	}
	for i := range bs {
		if bs[i].ID == id {
			return &bs[i], nil
		}
	}
	return nil, fmt.Errorf("backup %s of %s %w in %s", id, name, ErrNotFound, r.Root)
}

// Pick returns the complete backup of name with the given id, or the
// newest complete one (the one ID order puts last) for "" and "latest".
// An unknown id, or no complete backup at all, wraps ErrNotFound; an
// incomplete one wraps ErrIncomplete.
func (r *Repo) Pick(name, id string) (*Backup, error) {
	if id == "" || id == "latest" {
		b, err := r.Latest(name)
		if err == nil && b == nil {
			err = fmt.Errorf("complete backup of %s %w in %s", name, ErrNotFound, r.Root)
		}
		return b, err
	}
	b, err := r.Find(name, id)
	if err != nil {
		return nil, err
	}
	if !b.Complete {
		return nil, fmt.Errorf("backup %s of %s is %w; it cannot be read", id, name, ErrIncomplete)
	}
	return b, nil
}

func parseID(id string) (time.Time, int, bool) {
	m := idRE.FindStringSubmatch(id)
	if m == nil {
		return time.Time{}, 0, false
	}
	t, err := time.Parse(idLayout, m[1])
	if err != nil {
		return time.Time{}, 0, false
	}
	seq := 1
	if m[2] != "" {
		seq, _ = strconv.Atoi(m[2])
	}
	return t, seq, true
}

func idLess(a, b Backup) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.Seq < b.Seq
}

func readInfo(path string) (*Info, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &info, nil
}
