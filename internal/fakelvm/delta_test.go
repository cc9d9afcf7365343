package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// blocks builds an image of 4-byte blocks, one per character: '0' is a
// zero block, any other character a block filled with it.
func blocks(s string) []byte {
	var b []byte
	for _, c := range []byte(s) {
		if c == '0' {
			c = 0
		}
		b = append(b, bytes.Repeat([]byte{c}, 4)...)
	}
	return b
}

func TestDiffBlocks(t *testing.T) {
	for _, c := range []struct {
		name        string
		left, right string
		want        []deltaRun
	}{
		{"empty", "", "", nil},
		{"zero in both is omitted", "000", "000", nil},
		{"same merges", "aab", "aab", []deltaRun{{kindSame, 0, 3}}},
		{"every kind", "aab0cc0d", "axb0c0ed", []deltaRun{
			{kindSame, 0, 1}, {kindDifferent, 1, 1}, {kindSame, 2, 1},
			{kindSame, 4, 1}, {kindLeftOnly, 5, 1}, {kindRightOnly, 6, 1}, {kindSame, 7, 1}}},
		{"runs merge per kind", "ab00xy", "cd00", []deltaRun{{kindDifferent, 0, 2}, {kindLeftOnly, 4, 2}}},
		{"right longer", "a", "abc", []deltaRun{{kindSame, 0, 1}, {kindRightOnly, 1, 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, r := blocks(c.left), blocks(c.right)
			n := int64(max(len(c.left), len(c.right)))
			got, err := diffBlocks(bytes.NewReader(l), bytes.NewReader(r), 4, []span{{0, n}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("diffBlocks(%q, %q) = %v, want %v", c.left, c.right, got, c.want)
			}
		})
	}
}

// A block that is not whole (the image's end) compares as if padded with
// zeros.
func TestDiffBlocksPartialBlock(t *testing.T) {
	got, err := diffBlocks(bytes.NewReader([]byte("ab")), bytes.NewReader([]byte("ab\x00\x00")), 4, []span{{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []deltaRun{{kindSame, 0, 1}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestMergeSpans(t *testing.T) {
	got := mergeSpans([]span{{5, 7}, {0, 2}, {2, 3}, {6, 9}, {12, 13}})
	if want := []span{{0, 3}, {5, 9}, {12, 13}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// diffImages reads only the data of sparse images; its result must equal
// diffBlocks over every block (the oracle).
func TestDiffImagesSparse(t *testing.T) {
	const bs = 64 << 10
	dir := t.TempDir()
	write := func(name string, size int64, at map[int64]byte) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		for off, c := range at {
			if _, err := f.WriteAt(bytes.Repeat([]byte{c}, 1000), off); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	size := int64(64 << 20)
	left := write("left", size, map[int64]byte{0: 'a', 3 * bs: 'b', 100*bs + 5: 'c', size - 1000: 'd'})
	right := write("right", size, map[int64]byte{0: 'a', 3 * bs: 'x', 200 * bs: 'e', size - 1000: 'd'})
	got, err := diffImages(left, right, bs)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := os.ReadFile(left)
	r, _ := os.ReadFile(right)
	want, err := diffBlocks(bytes.NewReader(l), bytes.NewReader(r), bs, []span{{0, size / bs}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || len(want) != 5 {
		t.Errorf("diffImages = %v, want %v (5 runs)", got, want)
	}
}
