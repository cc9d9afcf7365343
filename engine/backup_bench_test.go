package engine

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchTree makes n files of 1–16 KiB in directories of 50, from a seed.
func benchTree(b *testing.B, dir string, n int) int64 {
	rng := rand.New(rand.NewSource(1))
	buf := make([]byte, 16<<10)
	var total int64
	for i := 0; i < n; i++ {
		d := filepath.Join(dir, "d"+strconv.Itoa(i/50))
		if i%50 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		size := 1024 + rng.Intn(15<<10)
		rng.Read(buf[:size])
		if err := os.WriteFile(filepath.Join(d, "f"+strconv.Itoa(i)), buf[:size], 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(size)
	}
	old := time.Now().Add(-time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	return total
}

// BenchmarkBackupFull measures a first backup of 10,000 small files.
func BenchmarkBackupFull(b *testing.B) {
	src := filepath.Join(b.TempDir(), "src")
	size := benchTree(b, src, 10000)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		repoPath := newRepo(b, filepath.Join(b.TempDir(), "repo"))
		b.StartTimer()
		if _, err := Backup(context.Background(), BackupOptions{Repo: repoPath, Name: "v", Source: src}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkBackupNoChange measures an incremental backup of 10,000 files
// of which none changed: stat, compare, link.
func BenchmarkBackupNoChange(b *testing.B) {
	src := filepath.Join(b.TempDir(), "src")
	benchTree(b, src, 10000)
	repoPath := newRepo(b, filepath.Join(b.TempDir(), "repo"))
	o := BackupOptions{Repo: repoPath, Name: "v", Source: src}
	if _, err := Backup(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Backup(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "files/s")
}
