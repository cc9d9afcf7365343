package main

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// Kinds of a run of thin_delta's output, as its XML element names them.
const (
	kindSame      = "same"       // mapped in both, equal
	kindDifferent = "different"  // mapped in both, different
	kindLeftOnly  = "left_only"  // mapped only in the left volume
	kindRightOnly = "right_only" // mapped only in the right volume
)

// deltaRun is a run of blocks of one kind, in blocks.
type deltaRun struct {
	kind          string
	begin, length int64
}

// span is a half-open range of block numbers [begin, end).
type span struct{ begin, end int64 }

// diffBlocks compares the images left and right, each read as bs-byte
// blocks up to size bytes (zeros past their ends), at the blocks of
// candidates (sorted, disjoint) only; every other block counts as zero in
// both. A block all zero in both is unmapped in both and in no run; all
// zero in one only, it is the other's alone. Adjacent blocks of one kind
// make one run; runs are in block order.
func diffBlocks(left, right io.ReaderAt, bs int64, candidates []span) ([]deltaRun, error) {
	l, r := make([]byte, bs), make([]byte, bs)
	var runs []deltaRun
	for _, sp := range candidates {
		for b := sp.begin; b < sp.end; b++ {
			if err := readBlock(left, l, b*bs); err != nil {
				return nil, err
			}
			if err := readBlock(right, r, b*bs); err != nil {
				return nil, err
			}
			kind := classify(l, r)
			if kind == "" {
				continue
			}
			if n := len(runs); n > 0 && runs[n-1].kind == kind && runs[n-1].begin+runs[n-1].length == b {
				runs[n-1].length++
				continue
			}
			runs = append(runs, deltaRun{kind, b, 1})
		}
	}
	return runs, nil
}

// readBlock fills buf from off, zeros past the end.
func readBlock(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if err == io.EOF {
		err = nil
	}
	clear(buf[n:])
	return err
}

// classify is the kind of a block whose contents are l and r, "" when both
// are all zero.
func classify(l, r []byte) string {
	lz, rz := allZero(l), allZero(r)
	switch {
	case lz && rz:
		return ""
	case rz:
		return kindLeftOnly
	case lz:
		return kindRightOnly
	case bytes.Equal(l, r):
		return kindSame
	}
	return kindDifferent
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// diffImages is diffBlocks of the image files left and right, reading only
// the blocks that hold data in either (SEEK_DATA/SEEK_HOLE): a hole is
// zeros.
func diffImages(left, right string, bs int64) ([]deltaRun, error) {
	var files [2]*os.File
	var spans []span
	for i, name := range []string{left, right} {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		files[i] = f
		s, err := dataSpans(f, bs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		spans = append(spans, s...)
	}
	return diffBlocks(files[0], files[1], bs, mergeSpans(spans))
}

// dataSpans are the blocks of bs bytes of f that hold data.
func dataSpans(f *os.File, bs int64) ([]span, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var out []span
	for off := int64(0); off < fi.Size(); {
		data, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole is left
		}
		if err != nil {
			return nil, fmt.Errorf("seek data: %w", err)
		}
		hole, err := unix.Seek(int(f.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return nil, fmt.Errorf("seek hole: %w", err)
		}
		out = append(out, span{data / bs, (hole + bs - 1) / bs})
		off = hole
	}
	return out, nil
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.begin, b.begin) })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && s.begin <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}
