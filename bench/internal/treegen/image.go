package treegen

import (
	"math/rand/v2"
	"os"
	"slices"
)

// PieceSize is how much of a chunk MutateImage overwrites.
const PieceSize = 64 << 10

// ImagePieces returns the offsets MutateImage overwrites in an image of
// size bytes: one 4 KiB-aligned piece inside each of pct percent of its
// whole chunks, the chunks chosen by seed. The offsets are sorted and a
// pure function of the arguments.
func ImagePieces(size, chunk int64, pct float64, seed uint64) []int64 {
	if chunk < PieceSize {
		return nil
	}
	n := int(size / chunk)
	rng := rand.New(rand.NewPCG(seed, 3))
	var offs []int64
	for _, c := range rng.Perm(n)[:count(n, pct)] {
		offs = append(offs, int64(c)*chunk+rng.Int64N((chunk-PieceSize)/4096+1)*4096)
	}
	slices.Sort(offs)
	return offs
}

// MutateImage overwrites the pieces ImagePieces chooses with random bytes
// and returns a function that writes the original bytes back. Both write
// in place, without truncating or syncing.
func MutateImage(path string, chunk int64, pct float64, seed uint64) (undo func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	offs := ImagePieces(st.Size(), chunk, pct, seed)
	old := make([][]byte, len(offs))
	rng := rand.New(rand.NewPCG(seed, 4))
	fill := newFiller(Random, seed)
	piece := make([]byte, PieceSize)
	for i, off := range offs {
		old[i] = make([]byte, PieceSize)
		if _, err := f.ReadAt(old[i], off); err != nil {
			return nil, err
		}
		fill.fill(rng, piece)
		if _, err := f.WriteAt(piece, off); err != nil {
			return nil, err
		}
	}
	return func() error {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		for i, off := range offs {
			if _, err := f.WriteAt(old[i], off); err != nil {
				f.Close()
				return err
			}
		}
		return f.Close()
	}, nil
}
