package blockdiff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// testIndex returns a consistent index of size bytes in chunks of cs,
// every third chunk a hole.
func testIndex(size int64, cs int) *Index {
	idx := &Index{Size: size, ChunkSize: cs, Entries: []Entry{}}
	for i := range chunkCount(size, cs) {
		e := Entry{}
		if i%3 != 0 {
			e = Entry{ID: sumID(binary.AppendUvarint(nil, uint64(i))), Stored: uint32(1000 + i)}
		}
		idx.Entries = append(idx.Entries, e)
	}
	idx.Hash = idx.ImageHash()
	return idx
}

// rawIndex returns an index file holding body (any bytes) compressed as
// Encode would, for crafting bodies Encode refuses.
func rawIndex(body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(indexMagic)
	b.WriteByte(indexVersion)
	zw, _ := zstd.NewWriter(&b)
	_, _ = zw.Write(body)
	_ = zw.Close()
	return b.Bytes()
}

// body builds an index body from uvarints and raw byte strings.
func body(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			b = binary.AppendUvarint(b, uint64(v))
		case int64:
			b = binary.AppendUvarint(b, uint64(v))
		case []byte:
			b = append(b, v...)
		}
	}
	return b
}

func TestIndexRoundTrip(t *testing.T) {
	for _, idx := range []*Index{
		testIndex(0, MinChunkSize),
		testIndex(1, MinChunkSize),
		testIndex(10*DefaultChunkSize+5, DefaultChunkSize),
		testIndex(int64(MaxChunkSize)*3, MaxChunkSize),
	} {
		var buf bytes.Buffer
		if err := idx.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeIndex(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(inMemory(t, got), idx) {
			t.Errorf("round trip of %d-byte index changed it", idx.Size)
		}
	}
}

func TestIndexEncodeRefusesInconsistent(t *testing.T) {
	tests := map[string]func(*Index){
		"missing entry":    func(idx *Index) { idx.Entries = idx.Entries[1:] },
		"extra entry":      func(idx *Index) { idx.Entries = append(idx.Entries, Entry{}) },
		"hole with an id":  func(idx *Index) { idx.Entries[0].ID[3] = 1 },
		"stored too large": func(idx *Index) { idx.Entries[1].Stored = maxStoredLen + 1 },
		"stored 1":         func(idx *Index) { idx.Entries[1].Stored = 1 },
		"bad chunk size":   func(idx *Index) { idx.ChunkSize = 5000 },
		"negative size":    func(idx *Index) { idx.Size = -1 },
	}
	for name, breakIt := range tests {
		t.Run(name, func(t *testing.T) {
			idx := testIndex(5*MinChunkSize, MinChunkSize)
			breakIt(idx)
			if err := idx.Encode(&bytes.Buffer{}); err == nil {
				t.Fatal("encoded")
			}
		})
	}
}

func TestDecodeIndexRejects(t *testing.T) {
	var good bytes.Buffer
	if err := testIndex(5*MinChunkSize+1, MinChunkSize).Encode(&good); err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	hash := make([]byte, 32)
	crafted := &Index{Size: MinChunkSize * 2, ChunkSize: MinChunkSize, Entries: []Entry{{}, {Stored: 100}}}
	craftedHash := crafted.ImageHash()
	tests := []struct {
		name string
		file []byte
	}{
		{"empty", nil},
		{"short header", []byte("LVBK")},
		{"bad magic", append([]byte("LVBKMNF\x01"), good.Bytes()[8:]...)},
		{"version 1 (a flat image hash)", append([]byte("LVBKIDX\x01"), good.Bytes()[8:]...)},
		{"future version", append([]byte("LVBKIDX\x03"), good.Bytes()[8:]...)},
		{"truncated", good.Bytes()[:good.Len()-3]},
		{"data after the frame", append(bytes.Clone(good.Bytes()), 0)},
		{"not zstd", []byte("LVBKIDX\x01 hello")},
		{"no entries", rawIndex(body(MinChunkSize*2, MinChunkSize, hash, 2))},
		{"count too small", rawIndex(body(MinChunkSize*2, MinChunkSize, hash, 1, 0))},
		{"count too large", rawIndex(body(MinChunkSize*2, MinChunkSize, hash, 3, 0, 0, 0))},
		{"huge count", rawIndex(body(MinChunkSize*2, MinChunkSize, hash, 1<<40, 0, 0))},
		{"absurd size", rawIndex(body(int64(1)<<62, MaxChunkSize, hash, 1<<36))},
		{"too many chunks", rawIndex(body(int64(MinChunkSize)<<25, MinChunkSize, hash, 1<<25))},
		{"chunk size 0", rawIndex(body(0, 0, hash, 0))},
		{"chunk size unaligned", rawIndex(body(0, MinChunkSize+1, hash, 0))},
		{"trailing bytes", rawIndex(body(MinChunkSize, MinChunkSize, hash, 1, 0, 0))},
		{"entry cut in its id", rawIndex(body(MinChunkSize, MinChunkSize, hash, 1, 100, id[:5]))},
		{"stored length 1", rawIndex(body(MinChunkSize, MinChunkSize, hash, 1, 1, id))},
		{"stored length too large", rawIndex(body(MinChunkSize, MinChunkSize, hash, 1, maxStoredLen+1, id))},
		{"overlong varint", rawIndex(body(bytes.Repeat([]byte{0xff}, 11)))},
		{"image hash not of its chunks", rawIndex(body(MinChunkSize*2, MinChunkSize, hash, 2, 0, 100, id))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeIndex(bytes.NewReader(tc.file))
			if !errors.Is(err, ErrCorruptIndex) {
				t.Fatalf("error %v, want ErrCorruptIndex", err)
			}
		})
	}
	// The crafted bodies are well-formed apart from the flaw they test.
	if _, err := DecodeIndex(bytes.NewReader(rawIndex(body(MinChunkSize*2, MinChunkSize, craftedHash[:], 2, 0, 100, id)))); err != nil {
		t.Fatalf("well-formed crafted index: %v", err)
	}
}

// failingReader returns data, then an I/O error.
type failingReader struct{ data []byte }

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errDisk
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestDecodeIndexReportsIOErrors(t *testing.T) {
	var good bytes.Buffer
	if err := testIndex(50*MinChunkSize, MinChunkSize).Encode(&good); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{3, 20, good.Len() - 1} {
		_, err := DecodeIndex(&failingReader{data: good.Bytes()[:n]})
		if !errors.Is(err, errDisk) || errors.Is(err, ErrCorruptIndex) {
			t.Errorf("cut at %d: error %v, want the I/O error, not corruption", n, err)
		}
	}
}

func TestWriteIndexAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.zst")
	if err := WriteIndex(path, testIndex(7*MinChunkSize, MinChunkSize)); err != nil {
		t.Fatal(err)
	}
	// A refused index leaves the previous one in place and no temporary file.
	bad := testIndex(7*MinChunkSize, MinChunkSize)
	bad.Entries = bad.Entries[1:]
	if err := WriteIndex(path, bad); err == nil {
		t.Fatal("wrote an inconsistent index")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "index.zst" {
		t.Errorf("directory holds %v", ents)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	got, err := ReadIndex(path)
	if err != nil || !reflect.DeepEqual(inMemory(t, got), testIndex(7*MinChunkSize, MinChunkSize)) {
		t.Errorf("read back: %v", err)
	}
	if _, err := ReadIndex(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing index: %v", err)
	}
}

func TestIndexChunks(t *testing.T) {
	idx := testIndex(6*MinChunkSize, MinChunkSize)
	var got []ID
	if err := idx.Chunks(func(id ID) error { got = append(got, id); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []ID{idx.Entries[1].ID, idx.Entries[2].ID, idx.Entries[4].ID, idx.Entries[5].ID}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Chunks gave %d ids, want the 4 non-holes in order", len(got))
	}
	stop := errors.New("stop")
	n := 0
	if err := idx.Chunks(func(ID) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Chunks did not stop at the first error: %v after %d", err, n)
	}
}
