package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
)

// StatsOptions says what Stats counts.
type StatsOptions struct {
	Repo string
	Name string // one volume name; "" means every name in the repository
	Jobs int    // backups counted at once; 0 means DefaultJobs
}

// StatsReport is what `lvback stats --json` prints; its keys are a stable
// interface. Only complete backups are counted.
type StatsReport struct {
	Repo    string        `json:"repo"`
	Volumes []VolumeStats `json:"volumes"`
	// Total is the repository's: pieces of storage several volumes
	// share count once. With --name it covers that volume only, but
	// its chunk store figures are the whole store's.
	Total StatsTotals `json:"total"`
}

// VolumeStats is one volume name: a row per complete backup, oldest
// first, and its totals.
type VolumeStats struct {
	Name    string        `json:"name"`
	Backups []BackupStats `json:"backups"`
	StatsTotals
}

// BackupStats is one backup's row.
type BackupStats struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	Mode string    `json:"mode"`
	// LogicalBytes is what a restore writes: the sizes of the regular
	// files the manifest lists (a hard-linked file once), or the image
	// size in block mode.
	LogicalBytes int64 `json:"logical_bytes"`
	// UniqueBytes is what pruning the backup alone would free: the
	// stored bytes of the inodes, extents and chunks no other backup
	// references (its own directory, manifest and info included).
	UniqueBytes int64 `json:"unique_bytes"`
}

// StatsTotals sums a volume's backups, or the repository's.
type StatsTotals struct {
	BackupsCount int   `json:"backups_count"`
	LogicalBytes int64 `json:"logical_bytes"`
	// StoredBytes is what the backups take on disk, each piece once: the
	// allocated bytes (st_blocks, as du counts) of the backup
	// directories' inodes, or of their data extents where FIEMAP maps
	// them (shared btrfs snapshot and reflink extents once), plus the
	// stored (compressed) size of each chunk they reference. The
	// repository's total counts every chunk the store holds.
	StoredBytes int64 `json:"stored_bytes"`
	// UniqueBytes (volumes only) is what deleting every backup of the
	// volume would free: the stored bytes no other volume references.
	UniqueBytes int64 `json:"unique_bytes,omitempty"`
	// Block mode: ChunksCount distinct chunks referenced, of
	// ChunkRawBytes uncompressed and ChunkStoredBytes stored bytes;
	// ReferencedRawBytes sums the raw bytes of every chunk reference of
	// every backup (holes excluded). DedupRatio is ReferencedRawBytes
	// over ChunkRawBytes, CompressionRatio ChunkRawBytes over
	// ChunkStoredBytes (0 when there is no chunk).
	ChunksCount        int64   `json:"chunks_count,omitempty"`
	ChunkRawBytes      int64   `json:"chunk_raw_bytes,omitempty"`
	ChunkStoredBytes   int64   `json:"chunk_stored_bytes,omitempty"`
	ReferencedRawBytes int64   `json:"referenced_raw_bytes,omitempty"`
	DedupRatio         float64 `json:"dedup_ratio,omitempty"`
	CompressionRatio   float64 `json:"compression_ratio,omitempty"`
	// UnreferencedBytes (repository only) is what the chunk store holds
	// that no complete backup references (what prune collects, or the
	// chunks of a backup in progress); MissingChunks counts referenced
	// chunks the store does not hold (verify reports them).
	UnreferencedBytes int64 `json:"unreferenced_bytes,omitempty"`
	MissingChunks     int64 `json:"missing_chunks,omitempty"`
}

// statsRun is one Stats call's state: the backups counted and the two
// ledgers their storage goes to.
type statsRun struct {
	r       *repo.Repo
	jobs    int
	whole   bool                  // every volume is counted: chunks no backup references are the repository's
	files   *ledger[spaceKey]     // inodes and extents of the backup directories
	chunks  *ledger[blockdiff.ID] // chunks the store holds or an index references
	rows    []*BackupStats        // every backup counted, in the ledgers' numbering
	refRaw  []int64               // per volume: raw bytes of its chunk references (atomic)
	missing []int64               // per volume: references to chunks the store lacks (atomic)
}

// Stats counts the backups of one volume name or of all: what they hold
// (logical), what they take on disk with every inode, extent and chunk
// counted once (stored), and what each backup alone holds (unique). It
// only reads and takes no lock: backups and prunes may run meanwhile, and
// a backup pruned during the count may be counted in part. An unknown
// name wraps repo.ErrNotFound. The repository is taken to be one file
// system (extents are keyed by their physical address on it).
func Stats(ctx context.Context, o StatsOptions) (*StatsReport, error) {
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs()
	}
	r, err := repo.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	vols, err := statsVolumes(r, o.Name)
	if err != nil {
		return nil, err
	}
	s := &statsRun{r: r, jobs: o.Jobs, whole: o.Name == "", files: newLedger[spaceKey](len(vols)), chunks: newLedger[blockdiff.ID](len(vols)),
		refRaw: make([]int64, len(vols)), missing: make([]int64, len(vols))}
	if err := s.listChunks(ctx, vols); err != nil {
		return nil, err
	}
	for v := range vols {
		if err := s.countVolume(ctx, &vols[v], int32(v)); err != nil {
			return nil, err
		}
	}
	return s.report(vols), nil
}

// statsVolumes returns a VolumeStats per name (one, or every name in the
// repository) with a row per complete backup; Stats fills in the rest.
func statsVolumes(r *repo.Repo, name string) ([]VolumeStats, error) {
	names, err := r.Names()
	if err != nil {
		return nil, err
	}
	if name != "" {
		if err := repo.ValidName(name); err != nil {
			return nil, err
		}
		if !slices.Contains(names, name) {
			return nil, fmt.Errorf("volume %s %w in %s", name, repo.ErrNotFound, r)
		}
		names = []string{name}
	}
	vols := make([]VolumeStats, 0, len(names))
	for _, n := range names {
		bs, err := r.Backups(n)
		if err != nil {
			return nil, err
		}
		v := VolumeStats{Name: n, Backups: []BackupStats{}}
		for _, b := range bs {
			if b.Complete {
				v.Backups = append(v.Backups, BackupStats{ID: b.ID, Time: b.Info.Started, Mode: b.Info.Mode})
			}
		}
		vols = append(vols, v)
	}
	return vols, nil
}

// countVolume counts the backups of one volume, jobs at a time.
func (s *statsRun) countVolume(ctx context.Context, vol *VolumeStats, v int32) error {
	all, err := s.r.Backups(vol.Name)
	if err != nil {
		return err
	}
	byID := map[string]*repo.Backup{}
	for i := range all {
		byID[all[i].ID] = &all[i]
	}
	first := int32(len(s.rows))
	for i := range vol.Backups {
		s.rows = append(s.rows, &vol.Backups[i])
	}
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan int)
	g.Go(func() error {
		defer close(next)
		for i := range vol.Backups {
			select {
			case next <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range min(s.jobs, len(vol.Backups)) {
		g.Go(func() error {
			for i := range next {
				row := &vol.Backups[i]
				if err := s.countBackup(gctx, byID[row.ID], row, first+int32(i), v); err != nil {
					return fmt.Errorf("stats of %s/%s: %w", vol.Name, row.ID, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// countBackup counts one backup: its directory, and its manifest or its
// index. It may run concurrently with the other backups of the volume.
func (s *statsRun) countBackup(ctx context.Context, b *repo.Backup, row *BackupStats, bi, v int32) error {
	if b == nil {
		return fmt.Errorf("backup %w (pruned meanwhile?)", repo.ErrNotFound)
	}
	if err := s.countDir(ctx, b.Dir, bi, v); err != nil {
		return err
	}
	if b.Blocks() {
		return s.countIndex(ctx, b, row, bi, v)
	}
	n, err := logicalBytes(b.ManifestPath())
	row.LogicalBytes = n
	return err
}

// report adds up the ledgers into the volumes' and repository's totals.
func (s *statsRun) report(vols []VolumeStats) *StatsReport {
	uniqueBackup := make([]int64, len(s.rows))
	uniqueVolume := make([]int64, len(vols))
	s.files.unique(uniqueBackup, uniqueVolume)
	unreferenced := s.chunks.unique(uniqueBackup, uniqueVolume)
	for i, row := range s.rows {
		row.UniqueBytes = uniqueBackup[i]
	}
	rep := &StatsReport{Repo: s.r.String(), Volumes: vols}
	t := &rep.Total
	for v := range vols {
		vol := &vols[v]
		vol.BackupsCount = len(vol.Backups)
		for _, row := range vol.Backups {
			vol.LogicalBytes += row.LogicalBytes
		}
		vol.StoredBytes = s.files.volStored[v] + s.chunks.volStored[v]
		vol.UniqueBytes = uniqueVolume[v]
		vol.ChunksCount, vol.ChunkStoredBytes, vol.ChunkRawBytes = s.chunks.volCount[v], s.chunks.volStored[v], s.chunks.volRaw[v]
		vol.ReferencedRawBytes = s.refRaw[v]
		vol.MissingChunks = s.missing[v]
		setRatios(&vol.StatsTotals)
		t.BackupsCount += vol.BackupsCount
		t.LogicalBytes += vol.LogicalBytes
		t.ReferencedRawBytes += vol.ReferencedRawBytes
		t.MissingChunks += vol.MissingChunks
	}
	// The repository counts each inode, extent and chunk once, across volumes.
	t.ChunksCount, t.ChunkRawBytes, t.ChunkStoredBytes = s.chunks.refCount, s.chunks.refRaw, s.chunks.refStored
	if s.whole {
		t.UnreferencedBytes = unreferenced
	}
	t.StoredBytes = s.files.refStored + s.chunks.refStored + t.UnreferencedBytes
	setRatios(t)
	return rep
}

// setRatios fills in the block-mode ratios of t from its byte counts.
func setRatios(t *StatsTotals) {
	if t.ChunkRawBytes > 0 {
		t.DedupRatio = float64(t.ReferencedRawBytes) / float64(t.ChunkRawBytes)
	}
	if t.ChunkStoredBytes > 0 {
		t.CompressionRatio = float64(t.ChunkRawBytes) / float64(t.ChunkStoredBytes)
	}
}
