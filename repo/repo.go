// Package repo owns the layout of an lvback repository on disk: its marker,
// its lock, the dated backup directories of each volume name with their
// complete/incomplete state, and the list of what verify found damaged. It
// never reads or writes backed-up data.
//
// Layout:
//
//	REPO/lvback-repository.json       marker (format, version, id, block chunk size)
//	REPO/lock                         flock(2) lock held by a running backup
//	REPO/damaged.json                 inodes and block chunks verify found damaged (see DamagedFile); absent when none
//	REPO/damaged.lock                 flock(2) lock held while damaged.json is rewritten
//	REPO/backups/NAME/ID/tree/        the browsable copy of the volume
//	REPO/backups/NAME/ID/manifest.zst one record per entry (package manifest)
//	REPO/backups/NAME/ID/info.json    written last: what the run did
//	REPO/backups/NAME/ID/labels.json  tags and protection (LabelsFile); changes after the commit
//	REPO/backups/NAME/ID.partial/     a backup being made, or left by a crash
//	REPO/backups/NAME/ID.deleting/    a backup being pruned (never listed)
//	REPO/backups/NAME/ID/index.zst    block mode: chunk list (instead of tree and manifest)
//	REPO/chunks/ab/abcd...            block mode: zstd chunks by BLAKE3, shared by all backups
package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/lvback/lvback/internal/btrfs"
	"github.com/lvback/lvback/internal/durable"
	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/crypt"
)

// MarkerFile is the name of the file that makes a directory a repository.
const MarkerFile = "lvback-repository.json"

const (
	markerFormat  = "lvback-repository"
	formatVersion = 1
	backupsDir    = "backups"
)

// ErrNotRepo reports a directory that is not an lvback repository.
var ErrNotRepo = errors.New("not an lvback repository")

// ErrLayout reports a layout a repository cannot have: unknown, or
// subvolume off btrfs.
var ErrLayout = errors.New("layout not possible here")

// ErrExists reports a repository created where one already is.
var ErrExists = errors.New("already an lvback repository")

// DefaultBlockChunkSize is the block-mode chunk size of a repository
// created without one (and of markers written before the setting
// existed). Package blockdiff explains the choice; the engine's tests
// check that the two agree.
const DefaultBlockChunkSize = 2 << 20

// Repo is an opened repository rooted at Root (an absolute path).
type Repo struct {
	Root string
	ID   string // random identity written at creation
	// BlockChunkSize is the chunk size of every block-mode backup in the
	// repository, fixed at creation: chunks of different sizes never
	// deduplicate.
	BlockChunkSize int
	// Layout is how file-mode trees are stored: LayoutHardlink or
	// LayoutSubvolume, fixed at creation.
	Layout string
	// Remote is the store of a remote repository (see remote.go), nil
	// for a local one; Root is then its local cache and Location names
	// it (an s3: URL).
	Remote     objstore.Store
	Location   string
	chunkIDKey *[32]byte // an encrypted remote repository's chunk id key
}

// Layouts of file-mode trees (Repo.Layout, init --layout).
const (
	// LayoutHardlink: each backup's tree is a directory tree whose
	// unchanged files are hard links to the previous backup's.
	LayoutHardlink = "hardlink"
	// LayoutSubvolume (btrfs only): each backup's tree is a read-only
	// btrfs subvolume, a snapshot of the previous one with only the
	// changes applied; pruning deletes the subvolume.
	LayoutSubvolume = "subvolume"
)

// Settings are the choices fixed when a repository is created.
type Settings struct {
	BlockChunkSize int // 0 means DefaultBlockChunkSize
	// Layout is LayoutHardlink, LayoutSubvolume (refused off btrfs), or
	// "": LayoutSubvolume on btrfs when run as root (who alone may delete
	// subvolumes on a default mount), else LayoutHardlink.
	Layout string
	// Secret, when set, encrypts a remote repository (see remote.go):
	// every object, names included, under a master key it wraps.
	Secret *crypt.Secret
}

type marker struct {
	Format         string    `json:"format"`
	Version        int       `json:"version"`
	ID             string    `json:"id"`
	Created        time.Time `json:"created"`
	BlockChunkSize int       `json:"block_chunk_size,omitempty"`
	Layout         string    `json:"layout,omitempty"` // "" is LayoutHardlink
}

// Open opens an existing repository; a directory without a valid marker is
// ErrNotRepo. The marker must be a regular file (not a symlink to another
// repository's marker) and "/" is never a repository. An s3: location is
// a remote repository (see OpenStore).
func Open(path string) (*Repo, error) {
	if IsRemote(path) {
		ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
		defer cancel()
		objs, err := connect(ctx, path, false)
		if err != nil {
			return nil, err
		}
		return OpenStore(ctx, path, objs)
	}
	if err := CheckLocal(path); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real == "/" {
		return nil, fmt.Errorf("%s: %w (the root directory is never a repository)", abs, ErrNotRepo)
	}
	if fi, err := os.Lstat(filepath.Join(abs, MarkerFile)); err == nil {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: %w (%s is not a regular file)", abs, ErrNotRepo, MarkerFile)
		}
		if err := checkMarkerOwner(fi); err != nil {
			return nil, fmt.Errorf("%s: %w", abs, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(abs, MarkerFile))
	if errors.Is(err, os.ErrNotExist) {
		if empty, eerr := isEmptyDir(abs); eerr == nil && empty {
			return nil, fmt.Errorf("%s: %w: it is missing or empty, so the backup disk may not be mounted; "+
				"create a repository there with `lvback init --repo %s`", abs, ErrNotRepo, path)
		}
		return nil, fmt.Errorf("%s: %w (no %s)", abs, ErrNotRepo, MarkerFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read repository marker: %w", err)
	}
	m, err := parseMarker(abs, data)
	if err != nil {
		return nil, err
	}
	return &Repo{Root: abs, ID: m.ID, BlockChunkSize: m.BlockChunkSize, Layout: m.Layout}, nil
}

// newMarker returns the marker of a new repository.
func newMarker(chunkSize int, layout string) marker {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return marker{Format: markerFormat, Version: formatVersion, ID: hex.EncodeToString(id[:]), Created: time.Now().UTC(),
		BlockChunkSize: chunkSize, Layout: layout}
}

// parseMarker checks the marker of the repository at where and fills in
// the defaults of markers written before a setting existed.
func parseMarker(where string, data []byte) (marker, error) {
	var m marker
	if err := json.Unmarshal(data, &m); err != nil || m.Format != markerFormat || m.ID == "" || !validRepoID(m.ID) {
		return m, fmt.Errorf("%s: %w (bad %s)", where, ErrNotRepo, MarkerFile)
	}
	if m.Version != formatVersion {
		return m, fmt.Errorf("%s: repository format version %d, this lvback reads %d", where, m.Version, formatVersion)
	}
	if m.BlockChunkSize < 0 {
		return m, fmt.Errorf("%s: %w (bad block_chunk_size %d in %s)", where, ErrNotRepo, m.BlockChunkSize, MarkerFile)
	}
	if m.BlockChunkSize == 0 {
		m.BlockChunkSize = DefaultBlockChunkSize
	}
	switch m.Layout {
	case "":
		m.Layout = LayoutHardlink
	case LayoutHardlink, LayoutSubvolume:
	default:
		return m, fmt.Errorf("%s: layout %q in %s: this lvback knows %q and %q", where, m.Layout, MarkerFile, LayoutHardlink, LayoutSubvolume)
	}
	return m, nil
}

// validRepoID reports whether id can be a repository's id: it names the
// cache directory of a remote repository, so it must be a plain name.
func validRepoID(id string) bool {
	return len(id) <= 64 && isLowerHexString(id)
}

func isLowerHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// ErrNotLocal reports a repository given as a URL or a remote path
// ("s3:...", "sftp:user@host:/srv", "host:/srv"): only local paths are
// repositories.
var ErrNotLocal = errors.New("not a local path")

// remoteRE matches what would be a remote repository in restic's or rsync's
// syntax: a scheme or host name followed by a colon before any slash.
var remoteRE = regexp.MustCompile(`^[^/]*:`)

// CheckLocal refuses a repository path that names a remote location
// instead of silently becoming a local directory with that name. A local
// name holding a colon before its first slash must be written ./name.
func CheckLocal(path string) error {
	if remoteRE.MatchString(path) {
		return fmt.Errorf("repository %q: %w: of remote repositories only s3: (block mode) is supported, not sftp: or host:/path; "+
			"mount the remote file system and give its local path (write ./%s for a local name with a colon)", path, ErrNotLocal, path)
	}
	return nil
}

// Create creates a repository with settings s at path (an s3: location:
// see CreateStore, and its bucket is created when missing), which must not
// exist or be an empty directory; an existing repository is refused, and
// so is a path on a mount point that /etc/fstab lists but nothing is
// mounted on (the backup disk is missing: the repository would land on the
// file system below). It is the only way a repository comes to be: every
// other command refuses a missing or empty path (see Open).
func Create(path string, s Settings) (*Repo, error) {
	if IsRemote(path) {
		ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
		defer cancel()
		objs, err := connect(ctx, path, true)
		if err != nil {
			return nil, err
		}
		return CreateStore(ctx, path, objs, s)
	}
	if err := CheckLocal(path); err != nil {
		return nil, err
	}
	if err := checkMounted(path, fstabPath); err != nil {
		return nil, err
	}
	if s.Secret != nil {
		return nil, fmt.Errorf("create repository %s: %w: encryption is for remote repositories (s3:); a local repository stays unencrypted (encrypt the disk it is on)", path, ErrLayout)
	}
	if s.BlockChunkSize < 0 {
		return nil, fmt.Errorf("create repository: block chunk size %d", s.BlockChunkSize)
	}
	if s.BlockChunkSize == 0 {
		s.BlockChunkSize = DefaultBlockChunkSize
	}
	if s.Layout != "" && s.Layout != LayoutHardlink && s.Layout != LayoutSubvolume {
		return nil, fmt.Errorf("create repository: %w: unknown layout %q (use %s or %s)", ErrLayout, s.Layout, LayoutHardlink, LayoutSubvolume)
	}
	if _, err := Open(path); err == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrExists)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	empty, err := isEmptyDir(abs)
	if err != nil {
		return nil, err
	}
	if !empty {
		return nil, fmt.Errorf("%s: %w and not empty; refusing to use it", abs, ErrNotRepo)
	}
	layout, err := chooseLayout(abs, s.Layout)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, backupsDir), 0o700); err != nil {
		return nil, fmt.Errorf("create repository: %w", err)
	}
	m := newMarker(s.BlockChunkSize, layout)
	if err := writeJSON(filepath.Join(abs, MarkerFile), m); err != nil {
		return nil, fmt.Errorf("create repository: %w", err)
	}
	return Open(abs)
}

// chooseLayout returns the layout a repository at abs gets when asked
// for want (see Settings.Layout): the subvolume layout only on btrfs.
// abs may not exist yet: its nearest existing parent is probed.
func chooseLayout(abs, want string) (string, error) {
	dir := abs
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	onBtrfs, err := btrfs.IsBtrfs(dir)
	if err != nil {
		return "", fmt.Errorf("create repository: %w", err)
	}
	switch {
	case want == LayoutSubvolume && !onBtrfs:
		return "", fmt.Errorf("create repository: %w: layout %s needs btrfs, and %s is not on btrfs (use --layout %s)", ErrLayout, LayoutSubvolume, abs, LayoutHardlink)
	case want != "":
		return want, nil
	case onBtrfs && os.Geteuid() == 0:
		return LayoutSubvolume, nil
	}
	return LayoutHardlink, nil
}

// isEmptyDir reports whether path is missing or an empty directory (or
// holds nothing but the lost+found of a new file system).
func isEmptyDir(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s: not a directory", path)
	}
	names, err := f.Readdirnames(2)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	// A freshly made file system's mount point holds only lost+found.
	return len(names) == 1 && names[0] == "lost+found", err
}

// writeJSON writes v durably (durable.WriteFile): temporary file, fsync,
// rename, fsync of the directory.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(path, append(data, '\n'), 0o644)
}
