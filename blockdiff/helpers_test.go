package blockdiff

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zeebo/blake3"

	"github.com/lvback/lvback/internal/testsys"
)

// memStore is an in-memory ChunkStore with failure injection: failPut
// makes the n-th Put (1-based) and every later one fail.
type memStore struct {
	mu      sync.Mutex // guards the fields below
	chunks  map[ID][]byte
	puts    int
	failPut int
	syncs   int
	stats   int // Stat calls
}

var _ ChunkStore = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{chunks: make(map[ID][]byte)} }

var errInjected = errors.New("injected failure")

func (m *memStore) Put(ctx context.Context, id ID, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if m.failPut > 0 && m.puts >= m.failPut {
		return errInjected
	}
	if _, ok := m.chunks[id]; !ok {
		m.chunks[id] = append([]byte(nil), data...)
	}
	return nil
}

func (m *memStore) Replace(ctx context.Context, id ID, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chunks[id] = append([]byte(nil), data...)
	return nil
}

func (m *memStore) StatMany(ctx context.Context, ids []ID) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sizes := make([]int64, len(ids))
	for i, id := range ids {
		sizes[i] = -1
		if d, ok := m.chunks[id]; ok {
			sizes[i] = int64(len(d))
		}
	}
	return sizes, nil
}

func (m *memStore) Get(ctx context.Context, id ID) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.chunks[id]
	if !ok {
		return nil, fmt.Errorf("chunk %s: %w", id, ErrNotFound)
	}
	return append([]byte(nil), d...), nil
}

func (m *memStore) Stat(ctx context.Context, id ID) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats++
	d, ok := m.chunks[id]
	if !ok {
		return 0, fmt.Errorf("chunk %s: %w", id, ErrNotFound)
	}
	return int64(len(d)), nil
}

func (m *memStore) List(ctx context.Context, fn func(ID) error) error {
	m.mu.Lock()
	ids := make([]ID, 0, len(m.chunks))
	for id := range m.chunks {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Delete(ctx context.Context, id ID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.chunks, id)
	return nil
}

func (m *memStore) Sync(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs++
	return nil
}

// span is a run of bytes in a test image: Len bytes at Off, made by Kind
// from Seed. Bytes no span covers stay zero (holes in a sparse file).
type span struct {
	Off, Len int64
	Kind     string // "random" (incompressible), "text" (compressible), "zero" (written zeros)
	Seed     uint64
}

// fill returns the bytes of a span.
func (s span) fill() []byte {
	b := make([]byte, s.Len)
	r := rand.New(rand.NewPCG(s.Seed, 7))
	switch s.Kind {
	case "random":
		for i := range b {
			if i%8 == 0 {
				v := r.Uint64()
				for j := 0; j < 8 && i+j < len(b); j++ {
					b[i+j] = byte(v >> (8 * j))
				}
			}
		}
	case "text":
		fillText(b, r)
	case "zero":
	default:
		panic("unknown span kind " + s.Kind)
	}
	return b
}

// words is the vocabulary of fillText: English-like text compresses about
// 3:1 with zstd, like the source text of shared/notes/baseline.md.
var words = strings.Fields(`the of and to in is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we their has would when if so
no will can more other its into than some could them time only these two may then do first any my now
such like our over man me even most made after also did many before must through back years where much
your way well down should because each just those people how too little state good very make world still
own see men work long get here between both life being under never day same another know while last might
us great old year off come since against go came right used take three block volume chunk index store`)

// fillText fills b with random words and occasional numbers.
func fillText(b []byte, r *rand.Rand) {
	i := 0
	for i < len(b) {
		w := words[r.IntN(len(words))]
		if r.IntN(16) == 0 {
			w = fmt.Sprint(r.IntN(100000))
		}
		i += copy(b[i:], w)
		if i < len(b) {
			b[i] = " \n"[min(r.IntN(12), 1)]
			i++
		}
	}
}

// writeImage creates a sparse file of size with the spans written into it.
func writeImage(t testing.TB, path string, size int64, spans ...span) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for _, s := range spans {
		if _, err := f.WriteAt(s.fill(), s.Off); err != nil {
			t.Fatal(err)
		}
	}
}

// fileSHA256 is the oracle for "bit-identical": sha256sum of a file or
// device, computed independently of blockdiff's BLAKE3.
func fileSHA256(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// sameFiles fails t unless the files (or devices) a and b hold the same
// bytes: a plain comparison, independent of blockdiff's hashing.
func sameFiles(t testing.TB, a, b string) {
	t.Helper()
	fa, err := os.Open(a)
	testsys.Must(t, err)
	defer fa.Close()
	fb, err := os.Open(b)
	testsys.Must(t, err)
	defer fb.Close()
	ba, bb := make([]byte, 4<<20), make([]byte, 4<<20)
	for off := int64(0); ; off += int64(len(ba)) {
		na, erra := io.ReadFull(fa, ba)
		nb, errb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			t.Fatalf("%s and %s differ in the 4 MiB from offset %d", a, b, off)
		}
		if erra != nil || errb != nil {
			if (erra == io.EOF || erra == io.ErrUnexpectedEOF) && erra == errb {
				return
			}
			t.Fatalf("compare %s and %s: %v, %v", a, b, erra, errb)
		}
	}
}

// chunkFiles returns the final and temporary file names in a DirStore.
func chunkFiles(t testing.TB, dir string) (final, temp []string) {
	t.Helper()
	subs, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		ents, err := os.ReadDir(filepath.Join(dir, s.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := filepath.Join(dir, s.Name(), e.Name())
			if isTempName(e.Name()) {
				temp = append(temp, p)
			} else {
				final = append(final, p)
			}
		}
	}
	return final, temp
}

// checkStats fails t unless the counters add up.
func checkStats(t testing.TB, st Stats, idx *Index) {
	t.Helper()
	if st.Chunks != int64(len(idx.Entries)) || st.Holes+st.NewChunks+st.ReusedChunks != st.Chunks || st.Size != idx.Size {
		t.Errorf("inconsistent stats %+v for %d entries", st, len(idx.Entries))
	}
}

// refImageHash computes the image hash of data as package doc describes
// it, independently of imageHasher: BLAKE3 of the domain string, size and
// chunk size (little-endian uint64s), then each chunk's BLAKE3, zero
// chunks included.
func refImageHash(data []byte, chunkSize int) ID {
	h := blake3.New()
	h.Write([]byte("lvback block image hash v2\x00"))
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], uint64(len(data)))
	h.Write(le[:])
	binary.LittleEndian.PutUint64(le[:], uint64(chunkSize))
	h.Write(le[:])
	for off := 0; off < len(data); off += chunkSize {
		sum := blake3.Sum256(data[off:min(off+chunkSize, len(data))])
		h.Write(sum[:])
	}
	return ID(h.Sum(nil))
}

// inMemory returns idx with its entries in memory (Entries set), as
// Backup returns it, so that tests can index and compare them.
func inMemory(t testing.TB, idx *Index) *Index {
	t.Helper()
	out := &Index{Size: idx.Size, ChunkSize: idx.ChunkSize, Hash: idx.Hash, Entries: []Entry{}}
	testsys.Must(t, idx.Each(func(_ int, e Entry) error { out.Entries = append(out.Entries, e); return nil }))
	return out
}
