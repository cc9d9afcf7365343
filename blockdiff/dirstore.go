package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lvback/lvback/fileops"
)

// maxStoredLen bounds what DirStore.Get reads: a stored chunk is at most
// its flag byte plus a raw chunk.
const maxStoredLen = 1 + MaxChunkSize

// DirStore is the local ChunkStore: chunk id abcdef... lives in the file
// DIR/ab/abcdef... (two-hex-digit fan-out, so no directory holds more
// than 1/256 of the chunks). It is safe for concurrent use.
//
// Put writes a chunk to a temporary file ".ID.*.tmp" in its fan-out
// directory without fsync; Sync then flushes the whole file system once
// (syncfs), renames every pending chunk to its final name and flushes
// again. So a chunk's final name exists only once its data is durable:
// a crash or SIGKILL leaves temporary files (ignored by List, Stat and
// Get, removed by RemoveTemp), never a partial chunk under a final name.
// Until Sync, pending chunks are visible to this DirStore value only.
type DirStore struct {
	dir    string
	syncMu sync.Mutex // serialises Sync

	mu      sync.Mutex // guards pending
	pending map[ID]pendingChunk
}

// pendingChunk is a chunk Put but not yet renamed into place.
type pendingChunk struct {
	tmp  string
	size int64
}

var _ ChunkStore = (*DirStore)(nil)

// OpenDirStore opens the chunk store in dir (typically REPO/chunks),
// creating dir when it does not exist.
func OpenDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open chunk store: %w", err)
	}
	return &DirStore{dir: dir, pending: make(map[ID]pendingChunk)}, nil
}

// Dir returns the directory the store lives in.
func (s *DirStore) Dir() string { return s.dir }

// path returns the final name of id.
func (s *DirStore) path(id ID) string {
	h := id.String()
	return filepath.Join(s.dir, h[:2], h)
}

// Put implements ChunkStore.
func (s *DirStore) Put(ctx context.Context, id ID, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.Stat(ctx, id); err == nil {
		return nil // never rewritten
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	tmp, err := s.writeTemp(id, data)
	if err != nil {
		return fmt.Errorf("put chunk %s: %w", id, err)
	}
	s.mu.Lock()
	_, dup := s.pending[id]
	if !dup {
		s.pending[id] = pendingChunk{tmp: tmp, size: int64(len(data))}
	}
	s.mu.Unlock()
	if dup {
		_ = os.Remove(tmp) // another goroutine stored the same chunk first
	}
	return nil
}

// writeTemp writes data to a new temporary file beside id's final name,
// creating the fan-out directory when needed.
func (s *DirStore) writeTemp(id ID, data []byte) (string, error) {
	final := s.path(id)
	dir := filepath.Dir(final)
	f, err := os.CreateTemp(dir, "."+filepath.Base(final)+".*.tmp")
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.Mkdir(dir, 0o700); err == nil || errors.Is(err, fs.ErrExist) {
			f, err = os.CreateTemp(dir, "."+filepath.Base(final)+".*.tmp")
		}
	}
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name()) // discarding the failed write
		return "", err
	}
	return f.Name(), nil
}

// Get implements ChunkStore. It refuses a file longer than any stored
// chunk can be, so a damaged store cannot make it allocate more.
func (s *DirStore) Get(ctx context.Context, id ID) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	p, pending := s.pending[id]
	s.mu.Unlock()
	if pending {
		data, err := readLimited(p.tmp)
		if !errors.Is(err, fs.ErrNotExist) {
			return data, err
		}
		// renamed into place by Sync meanwhile
	}
	data, err := readLimited(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("chunk %s: %w", id, ErrNotFound)
	}
	return data, err
}

// readLimited reads a whole chunk file of at most maxStoredLen bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxStoredLen {
		return nil, fmt.Errorf("%s: not a chunk file (%v, %d bytes)", path, fi.Mode().Type(), fi.Size())
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// Stat implements ChunkStore.
func (s *DirStore) Stat(ctx context.Context, id ID) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	p, pending := s.pending[id]
	s.mu.Unlock()
	if pending {
		return p.size, nil
	}
	fi, err := os.Lstat(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("chunk %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("chunk %s: not a regular file", id)
	}
	return fi.Size(), nil
}

// Delete implements ChunkStore. A deletion becomes durable with the next
// file system flush; a chunk that a crash brings back is merely garbage
// again.
func (s *DirStore) Delete(ctx context.Context, id ID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := os.Remove(s.path(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete chunk %s: %w", id, err)
	}
	return nil
}

// fanOut returns the name of fan-out directory i (0..255).
func fanOut(i int) string { return fmt.Sprintf("%02x", i) }

// List implements ChunkStore: it reports the chunks under final names
// only, never temporary files or chunks still pending a Sync.
func (s *DirStore) List(ctx context.Context, fn func(ID) error) error {
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return err
		}
		sub := fanOut(i)
		ents, err := os.ReadDir(filepath.Join(s.dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("list chunks: %w", err)
		}
		for _, e := range ents {
			id, err := ParseID(e.Name())
			if err != nil || !strings.HasPrefix(e.Name(), sub) || !e.Type().IsRegular() {
				continue
			}
			if err := fn(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// Sync implements ChunkStore: one syncfs makes the data of every pending
// chunk durable, then each is renamed to its final name (never replacing
// one), and a second syncfs makes the names durable.
func (s *DirStore) Sync(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	batch := make(map[ID]pendingChunk, len(s.pending))
	for id, p := range s.pending {
		batch[id] = p
	}
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := fileops.SyncFS(s.dir); err != nil {
		return fmt.Errorf("sync chunk store: %w", err)
	}
	for id, p := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := renameNoReplace(p.tmp, s.path(id))
		if errors.Is(err, fs.ErrExist) {
			err = os.Remove(p.tmp) // present already: keep the old one
		}
		if err != nil {
			return fmt.Errorf("sync chunk store: %w", err)
		}
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}
	if err := fileops.SyncFS(s.dir); err != nil {
		return fmt.Errorf("sync chunk store: %w", err)
	}
	return nil
}

// RemoveTemp removes the temporary files that killed or failed runs left
// in the store and returns how many it removed. It never touches this
// value's own pending chunks, but it would remove another process's: the
// caller holds the repository lock.
func (s *DirStore) RemoveTemp(ctx context.Context) (int, error) {
	s.mu.Lock()
	mine := make(map[string]bool, len(s.pending))
	for _, p := range s.pending {
		mine[p.tmp] = true
	}
	s.mu.Unlock()
	removed := 0
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		dir := filepath.Join(s.dir, fanOut(i))
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("remove temporary chunks: %w", err)
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if !isTempName(e.Name()) || mine[p] {
				continue
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, fmt.Errorf("remove temporary chunks: %w", err)
			}
			removed++
		}
	}
	return removed, nil
}

// isTempName reports whether name is one of writeTemp's temporary names.
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
}
