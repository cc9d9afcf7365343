package blockdiff

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestExt4Image backs up a real ext4 image twice, with a few files changed
// in between, and restores both backups: sha256-identical images that
// mount and hold the right files.
func TestExt4Image(t *testing.T) {
	requireRoot(t, "mkfs.ext4", "mount", "umount", "losetup")
	const size, cs = 64 * mib, 1 * mib
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, "ext4.img")
	writeImage(t, img, size)
	run(t, "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img)
	v1 := []testFile{
		{"a.txt", span{Len: 200 * kib, Kind: "text", Seed: 1}},
		{"b.bin", span{Len: 1 * mib, Kind: "random", Seed: 2}},
		{"dir/c.txt", span{Len: 3 * mib, Kind: "text", Seed: 3}},
		{"dir/d.bin", span{Len: 5 * mib, Kind: "random", Seed: 4}},
		{"dir/sub/e.txt", span{Len: 10 * kib, Kind: "text", Seed: 5}},
		{"big.bin", span{Len: 8 * mib, Kind: "random", Seed: 6}},
	}
	v2 := append([]testFile{
		{"a.txt", span{Len: 200 * kib, Kind: "text", Seed: 11}}, // rewritten
		{"f.txt", span{Len: 50 * kib, Kind: "text", Seed: 12}},  // added
	}, v1[1:4]...) // e.txt removed
	v2 = append(v2, v1[5])
	editImage(t, img, func(mnt string) { createTree(t, mnt, v1) })

	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	must(t, err)
	sum1 := fileSHA256(t, img)
	idx1, st1, err := Backup(ctx, img, store, filepath.Join(dir, "index1"), Options{ChunkSize: cs})
	must(t, err)
	checkStats(t, st1, idx1)

	editImage(t, img, func(mnt string) {
		must(t, os.Remove(filepath.Join(mnt, "dir/sub/e.txt")))
		createTree(t, mnt, v2[:2])
	})
	sum2 := fileSHA256(t, img)
	if sum2 == sum1 {
		t.Fatal("the image did not change")
	}
	idx2, st2, err := Backup(ctx, img, store, filepath.Join(dir, "index2"), Options{ChunkSize: cs})
	must(t, err)
	checkStats(t, st2, idx2)
	t.Logf("first backup %+v", st1)
	t.Logf("second backup %+v", st2)
	// The change touches the rewritten and added files, inode tables,
	// bitmaps, the journal and the superblock: a handful of 1 MiB chunks
	// (4 when written), while the first backup stored every chunk with
	// data (27).
	if st2.NewChunks > 10 || st2.StoredBytes > size/16 || st1.NewChunks < 2*st2.NewChunks {
		t.Errorf("second backup stored %d new chunks, %d bytes (first: %d chunks)", st2.NewChunks, st2.StoredBytes, st1.NewChunks)
	}

	for _, tc := range []struct {
		idx   *Index
		sum   [32]byte
		files []testFile
	}{{idx1, sum1, v1}, {idx2, sum2, v2}} {
		dst := filepath.Join(t.TempDir(), "restored.img")
		must(t, Restore(ctx, tc.idx, store, dst, RestoreOptions{}))
		if fileSHA256(t, dst) != tc.sum {
			t.Fatalf("restored image differs from the image at backup time")
		}
		mnt, umount := mount(t, dst, "loop,ro")
		checkTree(t, mnt, tc.files)
		umount()
	}
}

// editImage loop-mounts img read-write, calls edit and unmounts it.
func editImage(t *testing.T, img string, edit func(mnt string)) {
	t.Helper()
	mnt, umount := mount(t, img, "loop")
	edit(mnt)
	umount()
}
