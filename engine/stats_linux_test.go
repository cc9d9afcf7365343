package engine

import (
	"context"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/btrfs/btrfstest"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/repo"
)

func mustStats(t *testing.T, repoPath, name string) *StatsReport {
	t.Helper()
	rep, err := Stats(context.Background(), StatsOptions{Repo: repoPath, Name: name})
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	return rep
}

// duBytes is `du -csB1` over paths: allocated bytes, hard links once;
// 0 for no path.
func duBytes(t *testing.T, paths ...string) int64 {
	t.Helper()
	if len(paths) == 0 {
		return 0
	}
	out := testsys.Run(t, append([]string{"du", "-csB1"}, paths...)...)
	lines := strings.Split(out, "\n")
	n, err := strconv.ParseInt(strings.Fields(lines[len(lines)-1])[0], 10, 64)
	testsys.Must(t, err)
	return n
}

// restoreBytes is the oracle of a backup's logical size: the sizes of the
// source's regular files, a hard-linked inode once.
func restoreBytes(t *testing.T, src string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var n int64
	testsys.Must(t, filepath.WalkDir(src, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if ino := fi.Sys().(*syscall.Stat_t).Ino; err == nil && !seen[ino] {
			seen[ino] = true
			n += fi.Size()
		}
		return err
	}))
	return n
}

func randomFile(t *testing.T, path string, size int) {
	t.Helper()
	buf := make([]byte, size)
	rand.Read(buf)
	testsys.Must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	testsys.Must(t, os.WriteFile(path, buf, 0o644))
}

// File mode: stored bytes are what du counts over the backup directories
// (hard links once), logical bytes what the source held, and each
// backup's unique bytes exactly what deleting it frees, on the file
// system of TMPDIR (FIEMAP extents) and on tmpfs (no FIEMAP: inodes).
func TestStatsFilesAgainstDu(t *testing.T) {
	for _, fsys := range []string{"tempdir", "tmpfs"} {
		t.Run(fsys, func(t *testing.T) {
			base := t.TempDir()
			if fsys == "tmpfs" {
				base = testsys.MountTmpfs(t, 256<<20)
			}
			src, repoPath := filepath.Join(base, "src"), filepath.Join(base, "repo")
			_, err := Init(repoPath, repo.Settings{Layout: repo.LayoutHardlink})
			testsys.Must(t, err)
			randomFile(t, filepath.Join(src, "big"), 300_000)
			testsys.Must(t, os.Link(filepath.Join(src, "big"), filepath.Join(src, "big-link")))
			randomFile(t, filepath.Join(src, "small"), 5000)
			writeFile(t, filepath.Join(src, "d", "gone"), "soon deleted")
			var logical []int64
			step := func(n int) {
				logical = append(logical, restoreBytes(t, src))
				mustBackup(t, BackupOptions{Repo: repoPath, Name: "v", Source: src, Now: day(n), Log: discardLog()})
			}
			step(1)
			randomFile(t, filepath.Join(src, "small"), 7000) // changed
			randomFile(t, filepath.Join(src, "added"), 100_000)
			step(2)
			testsys.Must(t, os.Remove(filepath.Join(src, "d", "gone")))
			step(3)

			rep := mustStats(t, repoPath, "")
			vol := rep.Volumes[0]
			if len(rep.Volumes) != 1 || vol.BackupsCount != 3 || rep.Total.BackupsCount != 3 {
				t.Fatalf("volumes %+v", rep.Volumes)
			}
			for i, b := range vol.Backups {
				if b.LogicalBytes != logical[i] {
					t.Errorf("backup %d: logical %d, source held %d", i, b.LogicalBytes, logical[i])
				}
			}
			r, err := repo.Open(repoPath)
			testsys.Must(t, err)
			checkUniqueByDeleting(t, r, "v", []int{1, 0, 0})
		})
	}
}

// checkUniqueByDeleting deletes the backups of name one by one, the
// order[i]-th remaining one each time; before each, stats' stored bytes
// must be du's over the backups left, and the deleted backup's unique
// bytes what du says its deletion freed.
func checkUniqueByDeleting(t *testing.T, r *repo.Repo, name string, order []int) {
	t.Helper()
	for _, pick := range order {
		bs, err := r.Backups(name)
		testsys.Must(t, err)
		var paths []string
		for _, b := range bs {
			paths = append(paths, b.Dir)
		}
		before := duBytes(t, paths...)
		rep := mustStats(t, r.Root, name)
		vol := rep.Volumes[0]
		if vol.StoredBytes != before || rep.Total.StoredBytes != before || vol.UniqueBytes != before {
			t.Fatalf("%d backups: stored %d (total %d, volume unique %d), du says %d", len(bs), vol.StoredBytes, rep.Total.StoredBytes, vol.UniqueBytes, before)
		}
		victim := bs[pick]
		testsys.Must(t, removeBackup(r, &victim, 2))
		after := duBytes(t, append(paths[:pick:pick], paths[pick+1:]...)...)
		if freed := before - after; vol.Backups[pick].UniqueBytes != freed {
			t.Fatalf("backup %s: unique %d, deleting it freed %d", victim.ID, vol.Backups[pick].UniqueBytes, freed)
		}
		t.Logf("%s: stored %d, unique %d", victim.ID, before, before-after)
	}
}

// Block mode: the chunk store's bytes are the chunk files' sizes (find's
// oracle), two backups of one image deduplicate 2:1, compressible data
// compresses, and each backup alone holds only its own directory.
func TestStatsBlocks(t *testing.T) {
	dir := t.TempDir()
	img, repoPath := filepath.Join(dir, "disk.img"), newRepo(t, filepath.Join(dir, "repo"))
	const chunk = repo.DefaultBlockChunkSize
	data := make([]byte, 4*chunk) // random, random, compressible, zero (a hole)
	rand.Read(data[:2*chunk])
	copy(data[2*chunk:3*chunk], strings.Repeat("compressible ", chunk/13+1))
	testsys.Must(t, os.WriteFile(img, data, 0o644))
	for n := range 2 {
		_, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(n + 1)}})
		testsys.Must(t, err)
	}
	rep := mustStats(t, repoPath, "")
	tot := rep.Total
	var chunkFiles int64
	for _, s := range strings.Fields(testsys.Run(t, "find", filepath.Join(repoPath, "chunks"), "-type", "f", "-printf", "%s\n")) {
		n, err := strconv.ParseInt(s, 10, 64)
		testsys.Must(t, err)
		chunkFiles += n
	}
	if tot.ChunkStoredBytes != chunkFiles || tot.UnreferencedBytes != 0 || tot.MissingChunks != 0 {
		t.Errorf("chunks stored %d (unreferenced %d, missing %d), the chunk files hold %d", tot.ChunkStoredBytes, tot.UnreferencedBytes, tot.MissingChunks, chunkFiles)
	}
	if tot.ChunksCount != 3 || tot.ChunkRawBytes != 3*chunk || tot.ReferencedRawBytes != 6*chunk || tot.DedupRatio != 2 {
		t.Errorf("chunks %d, raw %d, referenced %d, dedup %.2f; want 3 chunks, %d raw bytes twice, dedup 2",
			tot.ChunksCount, tot.ChunkRawBytes, tot.ReferencedRawBytes, tot.DedupRatio, 3*chunk)
	}
	if tot.CompressionRatio <= 1.2 {
		t.Errorf("compression ratio %.2f, want > 1.2 (a third of the data compresses)", tot.CompressionRatio)
	}
	r, err := repo.Open(repoPath)
	testsys.Must(t, err)
	bs, err := r.Backups("vm")
	testsys.Must(t, err)
	var dirs int64
	for i, b := range rep.Volumes[0].Backups {
		own := duBytes(t, bs[i].Dir)
		dirs += own
		if b.LogicalBytes != int64(len(data)) || b.UniqueBytes != own {
			t.Errorf("backup %s: logical %d, unique %d; want %d and its directory's %d", b.ID, b.LogicalBytes, b.UniqueBytes, len(data), own)
		}
	}
	if tot.StoredBytes != chunkFiles+dirs || rep.Volumes[0].StoredBytes != tot.StoredBytes {
		t.Errorf("stored %d (volume %d), want the chunk files' %d and the directories' %d", tot.StoredBytes, rep.Volumes[0].StoredBytes, chunkFiles, dirs)
	}
}

// A btrfs repository in the subvolume layout: the trees of three backups
// of an unchanged 10 MiB file are snapshots, distinct inodes sharing
// extents, which count once (by FIEMAP), and no backup holds them alone.
func TestStatsBtrfsSnapshotsShareExtents(t *testing.T) {
	mnt := testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, 512<<20)
	src, repoPath := filepath.Join(t.TempDir(), "src"), filepath.Join(mnt, "repo")
	_, err := Init(repoPath, repo.Settings{Layout: repo.LayoutSubvolume})
	testsys.Must(t, err)
	btrfstest.DeleteSubvolumesAtCleanup(t, repoPath)
	const big = 10 << 20
	randomFile(t, filepath.Join(src, "big"), big)
	for n := range 3 {
		writeFile(t, filepath.Join(src, "counter"), strconv.Itoa(n))
		mustBackup(t, BackupOptions{Repo: repoPath, Name: "v", Source: src, Now: day(n + 1), Log: discardLog()})
	}
	rep := mustStats(t, repoPath, "v")
	vol := rep.Volumes[0]
	if vol.BackupsCount != 3 || vol.LogicalBytes < 3*big {
		t.Fatalf("%d backups of %d logical bytes", vol.BackupsCount, vol.LogicalBytes)
	}
	if vol.StoredBytes < big || vol.StoredBytes > big+big/10 {
		t.Errorf("stored %d, want the 10 MiB file once (%d) and little more", vol.StoredBytes, big)
	}
	for _, b := range vol.Backups {
		if b.UniqueBytes > big/10 {
			t.Errorf("backup %s holds %d bytes alone; the big file is shared", b.ID, b.UniqueBytes)
		}
	}
}
