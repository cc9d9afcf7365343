package blockdiff

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// TestExt4Image backs up a real ext4 image twice, with a few files changed
// in between, and restores both backups: sha256-identical images that
// mount and hold the right files.
func TestExt4Image(t *testing.T) {
	testsys.RequireRoot(t, "mkfs.ext4", "mount", "umount", "losetup")
	const size, cs = 64 * mib, 1 * mib
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, "ext4.img")
	writeImage(t, img, size)
	testsys.Run(t, "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img)
	v1, v2 := ext4Trees()
	editImage(t, img, func(mnt string) { createTree(t, mnt, v1) })

	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	testsys.Must(t, err)
	sum1 := fileSHA256(t, img)
	idx1, st1, err := Backup(ctx, img, store, filepath.Join(dir, "index1"), Options{ChunkSize: cs})
	testsys.Must(t, err)
	checkStats(t, st1, idx1)

	editImage(t, img, func(mnt string) {
		testsys.Must(t, os.Remove(filepath.Join(mnt, "dir/sub/e.txt")))
		createTree(t, mnt, v2[:2])
	})
	sum2 := fileSHA256(t, img)
	if sum2 == sum1 {
		t.Fatal("the image did not change")
	}
	idx2, st2, err := Backup(ctx, img, store, filepath.Join(dir, "index2"), Options{ChunkSize: cs})
	testsys.Must(t, err)
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

	restoreAndMount(t, idx1, store, sum1, v1)
	restoreAndMount(t, idx2, store, sum2, v2)
}

// ext4Trees returns the files of TestExt4Image's image before and after
// the change: a.txt rewritten, f.txt added, dir/sub/e.txt removed.
func ext4Trees() (v1, v2 []testFile) {
	v1 = []testFile{
		{"a.txt", span{Len: 200 * kib, Kind: "text", Seed: 1}},
		{"b.bin", span{Len: 1 * mib, Kind: "random", Seed: 2}},
		{"dir/c.txt", span{Len: 3 * mib, Kind: "text", Seed: 3}},
		{"dir/d.bin", span{Len: 5 * mib, Kind: "random", Seed: 4}},
		{"dir/sub/e.txt", span{Len: 10 * kib, Kind: "text", Seed: 5}},
		{"big.bin", span{Len: 8 * mib, Kind: "random", Seed: 6}},
	}
	v2 = []testFile{
		{"a.txt", span{Len: 200 * kib, Kind: "text", Seed: 11}},
		{"f.txt", span{Len: 50 * kib, Kind: "text", Seed: 12}},
		v1[1], v1[2], v1[3], v1[5],
	}
	return v1, v2
}

// restoreAndMount restores idx to a file, checks its sha256 against sum
// (the image's at backup time), mounts it read-only and checks its files.
func restoreAndMount(t *testing.T, idx *Index, store ChunkStore, sum [32]byte, files []testFile) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "restored.img")
	testsys.Must(t, Restore(context.Background(), idx, store, dst, RestoreOptions{}))
	if fileSHA256(t, dst) != sum {
		t.Fatalf("restored image differs from the image at backup time")
	}
	mnt, umount := testsys.Mount(t, dst, "loop,ro")
	checkTree(t, mnt, files)
	umount()
}

// editImage loop-mounts img read-write, calls edit and unmounts it.
func editImage(t testing.TB, img string, edit func(mnt string)) {
	t.Helper()
	mnt, umount := testsys.Mount(t, img, "loop")
	edit(mnt)
	umount()
}
