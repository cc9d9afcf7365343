package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/internal/units"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// DiffOptions says which two backups of one volume Diff compares.
type DiffOptions struct {
	Repo string
	Name string
	Old  string // backup ID; "" or "latest" is the newest complete backup
	New  string // likewise
}

// ImagePath is the path a block-mode difference is reported under: a
// block backup holds one image, not a tree.
const ImagePath = "image"

// Change is one difference Diff reports: a manifest.Change, and for a
// block backup's image what only an image has. Range is set on the
// changes of kind KindRange; Total on the image's summary (kind
// "changed").
type Change struct {
	manifest.Change
	Range *ByteRange
	Total *ImageTotal
}

// KindRange is the kind of a Change that is one run of differing chunks
// of a block backup's image.
const KindRange = "range"

// ByteRange is a run of bytes of the newer image: [Offset, Offset+Length).
type ByteRange struct {
	Offset, Length int64
}

// ImageTotal sums up the differences of two block backups' images:
// Chunks of the newer image's Of chunks differ, covering Bytes bytes;
// OldSize and NewSize are the image sizes.
type ImageTotal struct {
	Chunks, Of, Bytes int64
	OldSize, NewSize  int64
}

// Diff compares two complete backups of o.Name from what the repository
// recorded about them, never reading file data, and calls emit with each
// difference, old to new, from this goroutine; emit's error stops Diff and
// is returned.
//
// Two file-mode backups: every path added, removed or changed
// (manifest.Change), in manifest order, knowing what each backup's exclude
// rules left out (manifest.DiffExcluded); memory stays constant.
//
// Two block-mode backups: each maximal run of chunks of the newer image
// that differ from the older one's at the same offset, in image order, as
// a change of ImagePath of kind KindRange (Range set), then one change of
// ImagePath, kind "changed", with the totals (Total set; What says "size"
// when the image size changed, how many chunks differ and how many bytes
// they cover). Nothing when the images are equal. The indexes are
// streamed side by side, in constant memory.
//
// One backup of each mode: an error wrapping ErrNotApplicable.
func Diff(ctx context.Context, o DiffOptions, emit func(Change) error) error {
	r, err := repo.Open(o.Repo)
	if err != nil {
		return err
	}
	var bs [2]*repo.Backup
	for i, id := range []string{o.Old, o.New} {
		if bs[i], err = r.Pick(o.Name, id); err != nil {
			return err
		}
	}
	switch {
	case bs[0].Blocks() && bs[1].Blocks():
		return diffImages(ctx, bs, emit)
	case bs[0].Blocks() || bs[1].Blocks():
		return fmt.Errorf("diff of %s/%s (%s mode) and %s (%s mode) %w: diff compares two file trees or two block images",
			o.Name, bs[0].ID, bs[0].Info.Mode, bs[1].ID, bs[1].Info.Mode, ErrNotApplicable)
	}
	return diffTrees(ctx, bs, func(c manifest.Change) error { return emit(Change{Change: c}) })
}

// diffTrees streams the differences of two file-mode backups' manifests.
func diffTrees(ctx context.Context, bs [2]*repo.Backup, emit func(manifest.Change) error) error {
	var readers, excluded [2]*manifest.Reader
	for i, b := range bs {
		var err error
		if readers[i], err = manifest.Open(b.ManifestPath()); err != nil {
			return err
		}
		defer readers[i].Close()
		if b.Info.Excludes != nil { // made with exclude rules: they left these out
			if excluded[i], err = manifest.Open(b.ExcludedPath()); err != nil {
				return err
			}
			defer excluded[i].Close()
		}
	}
	return manifest.DiffExcluded(readers[0], readers[1], excluded[0], excluded[1], func(c manifest.Change) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return emit(c)
	})
}

// diffImages compares two block-mode backups' indexes chunk by chunk.
func diffImages(ctx context.Context, bs [2]*repo.Backup, emit func(Change) error) error {
	var idx [2]*blockdiff.Index
	for i, b := range bs {
		var err error
		if idx[i], err = blockdiff.ReadIndex(b.IndexPath()); err != nil {
			return err
		}
	}
	d, err := compareIndexes(ctx, idx[0], idx[1], func(r ByteRange) error {
		return emit(Change{Change: manifest.Change{Path: ImagePath, Kind: KindRange}, Range: &r})
	})
	if err != nil || (d.chunks == 0 && idx[0].Size == idx[1].Size) {
		return err
	}
	var what []string
	if idx[0].Size != idx[1].Size {
		what = append(what, "size")
	}
	what = append(what, fmt.Sprintf("%d of %d chunks differ", d.chunks, idx[1].Len()), units.Bytes(d.bytes))
	total := &ImageTotal{Chunks: int64(d.chunks), Of: int64(idx[1].Len()), Bytes: d.bytes, OldSize: idx[0].Size, NewSize: idx[1].Size}
	return emit(Change{Change: manifest.Change{Path: ImagePath, Kind: "changed", What: what}, Total: total})
}

// imageDiff counts the chunks of the newer image that differ from the
// older one's at the same offset, and the bytes they cover.
type imageDiff struct {
	chunks int
	bytes  int64
}

// compareIndexes compares new's chunks with old's at the same offset: a
// chunk differs when old has none there, or one of another length or
// content (chunk ids are content hashes; holes compare equal). Indexes
// of different chunk sizes share no chunk. It calls run with each maximal
// run of differing chunks of new, in order, and stops at run's first
// error.
func compareIndexes(ctx context.Context, old, new *blockdiff.Index, run func(ByteRange) error) (imageDiff, error) {
	var d imageDiff
	var oldErr error
	var cur ByteRange // the run being extended; Length 0: none
	flush := func() error {
		if cur.Length == 0 {
			return nil
		}
		r := cur
		cur = ByteRange{}
		return run(r)
	}
	next, stop := iter.Pull2(entries(old, &oldErr))
	defer stop()
	err := new.Each(func(i int, e blockdiff.Entry) error {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		off, n := new.Extent(i)
		_, oe, ok := next()
		if ok && old.ChunkSize == new.ChunkSize && oe.ID == e.ID {
			if _, on := old.Extent(i); on == n {
				return flush()
			}
		}
		d.chunks++
		d.bytes += int64(n)
		if cur.Length == 0 {
			cur.Offset = off
		}
		cur.Length += int64(n)
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return d, err
	}
	stop() // ends old's pass: chunks beyond new's end are gone, not differences
	return d, oldErr
}

// errStopEach ends an Index.Each early when its consumer stops.
var errStopEach = errors.New("stop")

// entries is idx's entries as an iterator; the error of the pass, if any,
// is stored in *errp when it ends.
func entries(idx *blockdiff.Index, errp *error) iter.Seq2[int, blockdiff.Entry] {
	return func(yield func(int, blockdiff.Entry) bool) {
		err := idx.Each(func(i int, e blockdiff.Entry) error {
			if !yield(i, e) {
				return errStopEach
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopEach) {
			*errp = err
		}
	}
}
