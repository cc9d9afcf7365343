package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/internal/durable"
	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/crypt"
)

// A remote repository (block mode only) keeps everything in an
// objstore.Store, such as an S3 bucket:
//
//	lvback-repository.json        marker, as on disk
//	backups/NAME/ID/index.zst     uploaded after every chunk it names
//	backups/NAME/ID/labels.json   tags and protection (LabelsFile), when any; replaced by tag and protect
//	backups/NAME/ID/info.json     uploaded last: the commit object
//	chunks/ab/abcd...             the chunks (blockdiff.ObjectStore)
//	locks/...                     package objlock's lock objects
//
// A backup is complete once its info.json exists. A local cache, a
// repository-shaped directory (Repo.Root) named by the repository's id,
// mirrors the marker, the info files, the labels and the indexes of
// complete backups so that everything else reads them as files; Open brings it up to date
// with the store, dropping what the store no longer holds. Chunks are
// never cached.

// IsRemote reports whether a repository location names a remote
// repository (an s3: URL) rather than a local path.
func IsRemote(location string) bool { return strings.HasPrefix(location, "s3:") }

// KeyFileEnv names the environment variable holding the path of a key
// file that opens an encrypted repository (what --key-file sets).
const KeyFileEnv = "LVBACK_KEY_FILE"

// SecretFromEnv returns the secret of an encrypted repository: the key
// file $LVBACK_KEY_FILE names, else the password in $LVBACK_PASSWORD or
// the file $LVBACK_PASSWORD_FILE names.
func SecretFromEnv() (crypt.Secret, error) {
	if f := os.Getenv(KeyFileEnv); f != "" {
		return crypt.SecretFromKeyFile(f)
	}
	s, err := crypt.SecretFromEnv()
	if err != nil {
		return s, fmt.Errorf("%w, or %s (--key-file) to a key file", err, KeyFileEnv)
	}
	return s, nil
}

// CacheEnv names the environment variable that sets where remote
// repositories are cached.
const CacheEnv = "LVBACK_CACHE_DIR"

// CacheBase is the directory holding the caches of remote repositories:
// $LVBACK_CACHE_DIR, else /var/cache/lvback/repositories for root, else
// the user's cache directory.
func CacheBase() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	if os.Geteuid() == 0 {
		return "/var/cache/lvback/repositories", nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for remote repositories (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(d, "lvback", "repositories"), nil
}

// CreateStore creates a remote repository in objs, which must hold no
// repository and no object at all; location names it in messages.
func CreateStore(ctx context.Context, location string, objs objstore.Store, s Settings) (*Repo, error) {
	if s.Layout != "" && s.Layout != LayoutHardlink {
		return nil, fmt.Errorf("create repository %s: %w: a remote repository holds block-mode backups only, it has no file tree layout", location, ErrLayout)
	}
	if s.BlockChunkSize < 0 {
		return nil, fmt.Errorf("create repository: block chunk size %d", s.BlockChunkSize)
	}
	if s.BlockChunkSize == 0 {
		s.BlockChunkSize = DefaultBlockChunkSize
	}
	if _, err := objs.Stat(ctx, MarkerFile); err == nil {
		return nil, fmt.Errorf("%s: %w", location, ErrExists)
	}
	empty := true
	err := objs.List(ctx, "", func(objstore.Info) error { empty = false; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("create repository %s: %w", location, err)
	}
	if !empty {
		return nil, fmt.Errorf("%s: %w and not empty; refusing to use it", location, ErrNotRepo)
	}
	if s.Secret != nil {
		cs, err := crypt.Init(ctx, objs, *s.Secret)
		if err != nil {
			return nil, fmt.Errorf("create repository: %w", err)
		}
		objs = cs
	}
	m := newMarker(s.BlockChunkSize, LayoutHardlink)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := objs.Put(ctx, MarkerFile, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("create repository %s: %w", location, err)
	}
	return openStore(ctx, location, objs)
}

var errStop = errors.New("stop")

// OpenStore opens the remote repository in objs and brings its local
// cache up to date; location names it in messages. An encrypted one is
// opened with the secret in the environment (see SecretFromEnv); a wrong
// one is an error wrapping crypt.ErrWrongKey, and nothing is written.
func OpenStore(ctx context.Context, location string, objs objstore.Store) (*Repo, error) {
	encrypted, err := crypt.IsEncrypted(ctx, objs)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", location, err)
	}
	if encrypted {
		secret, err := SecretFromEnv()
		if err != nil {
			return nil, fmt.Errorf("%s is encrypted: %w", location, err)
		}
		cs, err := crypt.Open(ctx, objs, secret)
		if errors.Is(err, crypt.ErrWrongKey) {
			return nil, fmt.Errorf("%w for %s", crypt.ErrWrongKey, location)
		}
		if err != nil {
			return nil, fmt.Errorf("open repository %s: %w", location, err)
		}
		objs = cs
	}
	return openStore(ctx, location, objs)
}

// openStore is OpenStore once objs is the repository's plain view.
func openStore(ctx context.Context, location string, objs objstore.Store) (*Repo, error) {
	data, err := objs.Get(ctx, MarkerFile)
	if errors.Is(err, objstore.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (no %s; create a repository there with `lvback init --repo %s`)", location, ErrNotRepo, MarkerFile, location)
	}
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", location, err)
	}
	m, err := parseMarker(location, data)
	if err != nil {
		return nil, err
	}
	base, err := CacheBase()
	if err != nil {
		return nil, err
	}
	r := &Repo{Root: filepath.Join(base, m.ID), ID: m.ID, BlockChunkSize: m.BlockChunkSize, Layout: LayoutHardlink,
		Remote: objs, Location: location}
	if cs, ok := objs.(*crypt.Store); ok {
		key := cs.ChunkIDKey()
		r.chunkIDKey = &key
	}
	if err := os.MkdirAll(filepath.Join(r.Root, backupsDir), 0o700); err != nil {
		return nil, fmt.Errorf("create the cache of %s: %w", location, err)
	}
	if err := durable.WriteFile(filepath.Join(r.Root, MarkerFile), data, 0o600); err != nil {
		return nil, fmt.Errorf("cache %s: %w", location, err)
	}
	if err := r.syncCache(ctx); err != nil {
		return nil, fmt.Errorf("bring the cache of %s up to date: %w", location, err)
	}
	return r, nil
}

// Refresh brings a remote repository's cache up to date with its store
// (Open did it once); it does nothing for a local repository.
func (r *Repo) Refresh(ctx context.Context) error {
	if r.Remote == nil {
		return nil
	}
	if err := r.syncCache(ctx); err != nil {
		return fmt.Errorf("bring the cache of %s up to date: %w", r.Location, err)
	}
	return nil
}

// remoteBackup is what the store holds of one backup.
type remoteBackup struct {
	info, index int64 // object sizes, -1 when missing
	// labels is the labels object (Size -1 when missing): it changes
	// after the commit, so the cache compares its size and time too.
	labels objstore.Info
}

// syncCache makes the cache's complete backups those of the store: it
// fetches the index and then the info of each one it lacks (or holds at
// another size) and removes those the store no longer has, including one
// that another host prunes while syncCache runs.
func (r *Repo) syncCache(ctx context.Context) error {
	remote := map[string]*remoteBackup{} // NAME/ID
	err := r.Remote.List(ctx, backupsDir+"/", func(fi objstore.Info) error {
		parts := strings.Split(fi.Name, "/")
		if len(parts) != 4 || ValidName(parts[1]) != nil {
			return nil
		}
		if _, _, ok := parseID(parts[2]); !ok {
			return nil
		}
		key := parts[1] + "/" + parts[2]
		b := remote[key]
		if b == nil {
			b = &remoteBackup{info: -1, index: -1, labels: objstore.Info{Size: -1}}
			remote[key] = b
		}
		switch parts[3] {
		case InfoFile:
			b.info = fi.Size
		case IndexFile:
			b.index = fi.Size
		case LabelsFile:
			b.labels = fi
		}
		return nil
	})
	if err != nil {
		return err
	}
	for key, b := range remote {
		if b.info < 0 || b.index < 0 {
			continue // not committed (a run in progress, or killed)
		}
		err := r.fetchBackup(ctx, key, b)
		if errors.Is(err, objstore.ErrNotExist) {
			// Committed when listed, gone now: another host's prune
			// unpublished it in between. It is no backup any more, and
			// what was fetched of it goes below.
			b.info, b.index = -1, -1
			continue
		}
		if err != nil {
			return err
		}
	}
	names, err := r.Names()
	if err != nil {
		return err
	}
	for _, name := range names {
		bs, err := r.Backups(name)
		if err != nil {
			return err
		}
		for _, b := range bs {
			if rb := remote[name+"/"+b.ID]; !b.Partial && (rb == nil || rb.info < 0 || rb.index < 0) {
				if err := os.RemoveAll(b.Dir); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fetchBackup copies a committed backup's index, labels and info into
// the cache when the cache lacks them or holds them at another size (the
// labels also at another time), and drops cached labels the store no
// longer has.
func (r *Repo) fetchBackup(ctx context.Context, key string, b *remoteBackup) error {
	dir := filepath.Join(r.Root, backupsDir, filepath.FromSlash(key))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := r.fetchObject(ctx, key, dir, IndexFile, objstore.Info{Size: b.index}); err != nil {
		return err
	}
	if err := r.fetchLabels(ctx, key, dir, b.labels); err != nil {
		return err
	}
	return r.fetchObject(ctx, key, dir, InfoFile, objstore.Info{Size: b.info}) // the info last, as in the store
}

// fetchObject copies object name of backup key into dir unless the
// cached file has its size and, when obj has a time, its time. The
// cached file gets the object's time.
func (r *Repo) fetchObject(ctx context.Context, key, dir, name string, obj objstore.Info) error {
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err == nil && fi.Size() == obj.Size && (obj.ModTime.IsZero() || fi.ModTime().Equal(obj.ModTime)) {
		return nil
	}
	data, err := r.Remote.Get(ctx, path.Join(backupsDir, key, name))
	if err != nil {
		return err
	}
	if err := durable.WriteFile(p, data, 0o600); err != nil {
		return err
	}
	if !obj.ModTime.IsZero() {
		return os.Chtimes(p, obj.ModTime, obj.ModTime)
	}
	return nil
}

// fetchLabels brings the cached labels of backup key in dir up to date
// with the store's object obj (Size -1: none). A labels object deleted
// between the listing and the fetch means the labels were cleared.
func (r *Repo) fetchLabels(ctx context.Context, key, dir string, obj objstore.Info) error {
	if obj.Size >= 0 {
		err := r.fetchObject(ctx, key, dir, LabelsFile, obj)
		if !errors.Is(err, objstore.ErrNotExist) {
			return err
		}
	}
	return durable.Remove(filepath.Join(dir, LabelsFile))
}

// uploadBackup puts a backup's index, its labels (when it has any) and
// then its info.json into the store: from the moment the info object
// exists the backup is complete.
func uploadBackup(ctx context.Context, objs objstore.Store, name, id, dir string) error {
	for _, f := range []string{IndexFile, LabelsFile, InfoFile} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if f == LabelsFile && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := objs.Put(ctx, path.Join(backupsDir, name, id, f), data); err != nil {
			return fmt.Errorf("upload %s: %w", f, err)
		}
	}
	return nil
}

// unpublish removes a backup from the store, its commit object first, so
// that a crash in between leaves an uncommitted index (or labels), never
// a complete backup without one.
func (r *Repo) unpublish(ctx context.Context, name, id string) error {
	for _, f := range []string{InfoFile, IndexFile, LabelsFile} {
		if err := r.Remote.Delete(ctx, path.Join(backupsDir, name, id, f)); err != nil {
			return fmt.Errorf("delete %s/%s from %s: %w", name, id, r.Location, err)
		}
	}
	return nil
}

// RemoveUncommitted deletes from a remote repository the indexes of
// name's backups that were never committed (no info.json: left by a
// killed run). The caller holds name's lock. It does nothing locally.
func (r *Repo) RemoveUncommitted(ctx context.Context, name string) (int, error) {
	if r.Remote == nil {
		return 0, nil
	}
	objs := map[string]map[string]bool{}
	prefix := path.Join(backupsDir, name) + "/"
	err := r.Remote.List(ctx, prefix, func(fi objstore.Info) error {
		id, file, ok := strings.Cut(strings.TrimPrefix(fi.Name, prefix), "/")
		if !ok {
			return nil
		}
		if objs[id] == nil {
			objs[id] = map[string]bool{}
		}
		objs[id][file] = true
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for id, files := range objs {
		if _, _, ok := parseID(id); !ok || files[InfoFile] {
			continue
		}
		for f := range files {
			if err := r.Remote.Delete(ctx, prefix+id+"/"+f); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}

// ChunkStore is what lvback needs of a repository's chunk store:
// blockdiff's interface plus the clean-ups of a killed run.
type ChunkStore interface {
	blockdiff.ChunkStore
	// RemoveTemp removes what killed runs left half-written.
	RemoveTemp(ctx context.Context) (int, error)
	// Discard drops what was Put since the last Sync (a failed backup).
	Discard()
}

// Chunks opens the repository's chunk store: the chunks directory, or
// for a remote repository the store's chunks/.
func (r *Repo) Chunks() (ChunkStore, error) {
	if r.Remote != nil {
		return remoteChunks{blockdiff.NewObjectStore(r.Remote, r.chunkIDKey)}, nil
	}
	return blockdiff.OpenDirStore(r.ChunksDir())
}

// remoteChunks is a remote repository's ChunkStore: every Put is durable
// and whole when it returns, so there is nothing to clean up.
type remoteChunks struct{ *blockdiff.ObjectStore }

func (remoteChunks) RemoveTemp(context.Context) (int, error) { return 0, nil }
func (remoteChunks) Discard()                                {}

// String names the repository: its path, or a remote one's location.
func (r *Repo) String() string {
	if r.Remote != nil {
		return r.Location
	}
	return r.Root
}

// remoteTimeout bounds each remote step of Commit and Retire that has no
// context of its own.
const remoteTimeout = 10 * time.Minute

// CheckRemoteLocation checks a remote repository location without
// connecting: an s3: URL restic's way (s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]).
func CheckRemoteLocation(location string) error {
	_, err := parseRemote(location)
	return err
}
