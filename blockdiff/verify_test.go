package blockdiff

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// verifyFixture backs up a 10-chunk image (chunk 2 a hole, chunks 6 and 8
// the same data) into a DirStore and returns the index and the store.
func verifyFixture(t *testing.T) (*Index, *DirStore, string) {
	t.Helper()
	const cs = 64 * kib
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeImage(t, src, 10*cs,
		span{0, 2 * cs, "text", 1}, span{3 * cs, 3 * cs, "random", 2},
		span{6 * cs, cs, "text", 3}, span{7 * cs, cs, "text", 4},
		span{8 * cs, cs, "text", 3}, span{9 * cs, cs, "text", 5})
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	if err != nil {
		t.Fatal(err)
	}
	idx, _, err := Backup(context.Background(), src, store, filepath.Join(dir, "index"), Options{ChunkSize: cs})
	if err != nil {
		t.Fatal(err)
	}
	if !idx.Entries[2].Hole() || idx.Entries[6].ID != idx.Entries[8].ID {
		t.Fatal("fixture does not have the expected shape")
	}
	return idx, store, src
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(t *testing.T, path string)
		chunk    int   // the chunk damaged
		want     []int // chunks reported, reading everything
		wantErr  error
		withStat bool // also reported when only checking presence and length
	}{
		{name: "clean", damage: func(*testing.T, string) {}, chunk: 0},
		{name: "missing chunk", damage: func(t *testing.T, p string) { testsys.Must(t, os.Remove(p)) },
			chunk: 4, want: []int{4}, wantErr: ErrNotFound, withStat: true},
		{name: "truncated chunk file", damage: func(t *testing.T, p string) {
			fi, err := os.Stat(p)
			testsys.Must(t, err)
			testsys.Must(t, os.Truncate(p, fi.Size()/2))
		}, chunk: 1, want: []int{1}, wantErr: ErrCorruptChunk, withStat: true},
		{name: "corrupted byte", damage: func(t *testing.T, p string) { flipByte(t, p, 0.5) },
			chunk: 7, want: []int{7}, wantErr: ErrCorruptChunk},
		{name: "corrupted flag byte", damage: func(t *testing.T, p string) { flipByte(t, p, 0) },
			chunk: 3, want: []int{3}, wantErr: ErrCorruptChunk},
		{name: "shared chunk reported at every offset", damage: func(t *testing.T, p string) { flipByte(t, p, 0.9) },
			chunk: 6, want: []int{6, 8}, wantErr: ErrCorruptChunk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idx, store, src := verifyFixture(t)
			id := idx.Entries[tc.chunk].ID
			tc.damage(t, store.path(id))
			probs, err := Verify(context.Background(), idx, store, 1)
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, idx, probs, tc.want, id, tc.wantErr)
			probs, err = Verify(context.Background(), idx, store, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if !tc.withStat {
				want = nil // only reading the data finds it
			}
			checkProblems(t, idx, probs, want, id, tc.wantErr)
			checkRestoreFails(t, idx, store, src, tc.want)
		})
	}
}

// checkProblems fails t unless probs reports exactly the chunks want, each
// naming id, its offset and an error wrapping wantErr.
func checkProblems(t *testing.T, idx *Index, probs []Problem, want []int, id ID, wantErr error) {
	t.Helper()
	if len(probs) != len(want) {
		t.Fatalf("problems %v, want chunks %v", probs, want)
	}
	for i, p := range probs {
		off, _ := idx.Extent(want[i])
		msg := p.Error()
		if p.Chunk != want[i] || p.Offset != off || p.ID != id || !errors.Is(p, wantErr) ||
			!strings.Contains(msg, "offset "+strconv.FormatInt(off, 10)) || !strings.Contains(msg, id.String()) {
			t.Errorf("problem %q, want chunk %d at offset %d (%s) wrapping %v", msg, want[i], off, id, wantErr)
		}
	}
}

// checkRestoreFails restores idx and expects failure naming the first
// damaged chunk, with no file left behind, or success when nothing is
// damaged.
func checkRestoreFails(t *testing.T, idx *Index, store ChunkStore, src string, damaged []int) {
	t.Helper()
	if len(damaged) == 0 {
		restoreAndCompare(t, idx, store, src)
		return
	}
	dir := t.TempDir()
	err := Restore(context.Background(), idx, store, filepath.Join(dir, "img"), RestoreOptions{})
	var p Problem
	// Workers fetch in parallel: any damaged chunk may be the one found.
	if !errors.As(err, &p) || !slices.Contains(damaged, p.Chunk) {
		t.Errorf("restore error %v, want a problem with one of chunks %v", err, damaged)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed restore left %v", ents)
	}
}

// flipByte inverts the byte at fraction f of the file at p.
func flipByte(t *testing.T, p string, f float64) {
	t.Helper()
	data, err := os.ReadFile(p)
	testsys.Must(t, err)
	data[int(f*float64(len(data)-1))] ^= 0xff
	testsys.Must(t, os.WriteFile(p, data, 0o600))
}

func TestVerifySubsetReadsAFraction(t *testing.T) {
	idx, store, _ := verifyFixture(t)
	// Corrupt every chunk's data (not its length): only the chunks read
	// are reported, and about the requested fraction of them is read.
	ids := map[ID]bool{}
	testsys.Must(t, idx.Chunks(func(id ID) error { ids[id] = true; return nil }))
	for id := range ids {
		flipByte(t, store.path(id), 0.5)
	}
	for _, tc := range []struct {
		frac     float64
		min, max int
	}{{0, 0, 0}, {1, 9, 9}, {2, 9, 9}} {
		probs, err := Verify(context.Background(), idx, store, tc.frac)
		if err != nil {
			t.Fatal(err)
		}
		if len(probs) < tc.min || len(probs) > tc.max {
			t.Errorf("fraction %v: %d problems, want %d-%d", tc.frac, len(probs), tc.min, tc.max)
		}
	}
	seen := 0
	for range 20 {
		probs, err := Verify(context.Background(), idx, store, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(probs)
	}
	if seen < 20 || seen > 160 { // expected 90 of 180
		t.Errorf("fraction 0.5 found %d of 180 damaged chunk uses in 20 runs", seen)
	}
}

func TestVerifyCanceled(t *testing.T) {
	idx, store, _ := verifyFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Verify(ctx, idx, store, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
