package blockdiff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// BenchmarkIncrementalExt4 measures what a real file system's day of
// small changes costs each chunk size: a 256 MiB ext4 image with 60 files
// (43 MB) is backed up once; then every iteration rewrites 3 files,
// appends 20 KiB to 2, adds 2 small ones and deletes 1 (about 1 MB of
// file data, plus the metadata and journal writes ext4 makes) and backs
// the image up again, reporting the bytes stored per day.
func BenchmarkIncrementalExt4(b *testing.B) {
	testsys.RequireRoot(b, "mkfs.ext4", "mount", "umount")
	for _, cs := range []int{1 * mib, 2 * mib, 4 * mib} {
		b.Run(fmt.Sprintf("%dMiB", cs/mib), func(b *testing.B) {
			dir := b.TempDir()
			img := filepath.Join(dir, "ext4.img")
			writeImage(b, img, benchSize)
			testsys.Run(b, "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img)
			files := churnFiles()
			editImage(b, img, func(mnt string) { createTree(b, mnt, files) })
			store := newBenchStore(b)
			o := Options{ChunkSize: cs}
			_, _, err := Backup(context.Background(), img, store, filepath.Join(dir, "index"), o)
			testsys.Must(b, err)
			var stored int64
			b.ResetTimer()
			for day := 0; day < b.N; day++ {
				b.StopTimer()
				editImage(b, img, func(mnt string) { churn(b, mnt, files, day) })
				b.StartTimer()
				_, st, err := Backup(context.Background(), img, store, filepath.Join(dir, "index"), o)
				testsys.Must(b, err)
				stored += st.StoredBytes
			}
			b.ReportMetric(float64(stored)/float64(b.N)/kib, "KiB-stored/op")
		})
	}
}

// churnFiles is the tree BenchmarkIncrementalExt4 starts from: one file
// in three incompressible, sizes from 100 KiB to 2.2 MiB.
func churnFiles() []testFile {
	var files []testFile
	for i := range 60 {
		kind := "text"
		if i%3 == 0 {
			kind = "random"
		}
		files = append(files, testFile{fmt.Sprintf("d%d/f%d", i%7, i), span{Len: int64(100*kib + i*37*kib), Kind: kind, Seed: uint64(i)}})
	}
	return files
}

// churn makes day's changes under mnt.
func churn(b *testing.B, mnt string, files []testFile, day int) {
	for j := range 3 {
		f := files[(day*11+j*17)%len(files)]
		f.Data.Seed += uint64(1000 * (day + 1))
		createTree(b, mnt, []testFile{f})
	}
	for j := range 2 {
		f, err := os.OpenFile(filepath.Join(mnt, files[(day*5+j*23+3)%len(files)].Name), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = f.Write(span{Len: 20 * kib, Kind: "text", Seed: uint64(day*100 + j)}.fill())
			f.Close()
		}
		if err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
	}
	createTree(b, mnt, []testFile{
		{fmt.Sprintf("new%d/a", day), span{Len: 8 * kib, Kind: "text", Seed: 77}},
		{fmt.Sprintf("new%d/b", day), span{Len: 30 * kib, Kind: "text", Seed: 78}},
	})
	_ = os.Remove(filepath.Join(mnt, files[(day*13+5)%len(files)].Name)) // may be gone already
}
