package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lvback/lvback/objstore"
)

// chunkPrefix is where an ObjectStore keeps chunks in its objstore:
// chunks/<first two hex digits>/<id>, as DirStore lays them out on disk.
const chunkPrefix = "chunks/"

// ObjectStore is a ChunkStore in an objstore.Store (an S3 bucket, or an
// encrypted store over one). Every Put is durable when it returns, so
// Sync has nothing left to do.
type ObjectStore struct {
	objs  objstore.Store
	idKey *[32]byte
}

var (
	_ ChunkStore = (*ObjectStore)(nil)
	_ KeyedIDs   = (*ObjectStore)(nil)
)

// NewObjectStore returns the chunk store kept in objs. With idKey, chunk
// ids are the BLAKE3 of the data keyed with it (see KeyedIDs).
func NewObjectStore(objs objstore.Store, idKey *[32]byte) *ObjectStore {
	return &ObjectStore{objs: objs, idKey: idKey}
}

// ChunkIDKey implements KeyedIDs.
func (s *ObjectStore) ChunkIDKey() ([32]byte, bool) {
	if s.idKey == nil {
		return [32]byte{}, false
	}
	return *s.idKey, true
}

func chunkName(id ID) string {
	s := id.String()
	return chunkPrefix + s[:2] + "/" + s
}

// Put implements ChunkStore: a chunk the store holds already is not sent
// again (one Stat instead of an upload, which is what makes a second
// host's clone of a guest image cheap).
func (s *ObjectStore) Put(ctx context.Context, id ID, data []byte) error {
	_, err := s.objs.Stat(ctx, chunkName(id))
	if err == nil {
		return nil
	}
	if !errors.Is(err, objstore.ErrNotExist) {
		return fmt.Errorf("chunk %s: %w", id, err)
	}
	return s.Replace(ctx, id, data)
}

// Replace implements ChunkStore: an object store replaces an object
// whole.
func (s *ObjectStore) Replace(ctx context.Context, id ID, data []byte) error {
	if err := s.objs.Put(ctx, chunkName(id), data); err != nil {
		return fmt.Errorf("store chunk %s: %w", id, err)
	}
	return nil
}

// Get implements ChunkStore.
func (s *ObjectStore) Get(ctx context.Context, id ID) ([]byte, error) {
	b, err := s.objs.Get(ctx, chunkName(id))
	if errors.Is(err, objstore.ErrNotExist) {
		return nil, fmt.Errorf("chunk %s: %w", id, ErrNotFound)
	}
	return b, err
}

// Stat implements ChunkStore.
func (s *ObjectStore) Stat(ctx context.Context, id ID) (int64, error) {
	fi, err := s.objs.Stat(ctx, chunkName(id))
	if errors.Is(err, objstore.ErrNotExist) {
		return 0, fmt.Errorf("chunk %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	return fi.Size, nil
}

// StatMany implements ChunkStore with statWorkers concurrent Stats, which
// hides the store's round-trip time.
func (s *ObjectStore) StatMany(ctx context.Context, ids []ID) ([]int64, error) {
	return statMany(ctx, ids, s.Stat)
}

// List implements ChunkStore; objects under chunks/ whose names are not
// chunk ids are not chunks and are left out.
func (s *ObjectStore) List(ctx context.Context, fn func(ID) error) error {
	return s.objs.List(ctx, chunkPrefix, func(fi objstore.Info) error {
		i := strings.LastIndexByte(fi.Name, '/')
		id, err := ParseID(fi.Name[i+1:])
		if err != nil || fi.Name != chunkName(id) {
			return nil
		}
		return fn(id)
	})
}

// Delete implements ChunkStore.
func (s *ObjectStore) Delete(ctx context.Context, id ID) error {
	return s.objs.Delete(ctx, chunkName(id))
}

// Sync implements ChunkStore: every Put was durable when it returned.
func (s *ObjectStore) Sync(ctx context.Context) error { return ctx.Err() }
