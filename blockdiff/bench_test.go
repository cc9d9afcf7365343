package blockdiff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/lvback/lvback/internal/testsys"
)

// benchSize is the size of the benchmark sources.
const benchSize = 256 * mib

var (
	benchDirOnce sync.Once
	benchDir     string
	benchMu      sync.Mutex // guards benchSources
	benchSources = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		_ = os.RemoveAll(benchDir) // test scratch space
	}
	os.Exit(code)
}

// benchSource returns a 256 MiB file of kind ("text", "random" or
// "zero", all bytes written), made once per test binary run.
func benchSource(b *testing.B, kind string) string {
	b.Helper()
	benchDirOnce.Do(func() {
		d, err := os.MkdirTemp("", "blockdiff-bench-")
		testsys.Must(b, err)
		benchDir = d
	})
	benchMu.Lock()
	defer benchMu.Unlock()
	if p, ok := benchSources[kind]; ok {
		return p
	}
	p := filepath.Join(benchDir, kind)
	f, err := os.Create(p)
	testsys.Must(b, err)
	defer f.Close()
	if kind == "realfiles" {
		concatTrees(b, f, realRoots...)
	}
	for off := int64(0); kind != "realfiles" && off < benchSize; off += 4 * mib {
		_, err := f.Write(span{Len: 4 * mib, Kind: kind, Seed: uint64(off)}.fill())
		testsys.Must(b, err)
	}
	benchSources[kind] = p
	return p
}

// realRoots hold the files of the REAL tree of shared/notes/baseline.md
// (Go sources and binaries, then /usr/share): real data, not synthetic.
var realRoots = []string{"/usr/local/go", "/usr/share"}

// concatTrees writes the first benchSize bytes of the regular files under
// roots, in WalkDir order, to w; it skips b when they hold less.
func concatTrees(b *testing.B, w io.Writer, roots ...string) {
	left := int64(benchSize)
	walk := func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries are skipped
		}
		if left == 0 || !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		n, err := io.CopyN(w, f, left)
		left -= n
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return err
	}
	for _, root := range roots {
		testsys.Must(b, filepath.WalkDir(root, walk))
	}
	if left > 0 {
		b.Skipf("%v hold less than %d bytes of files", roots, benchSize)
	}
}

// copySource copies a benchmark source to dst, for benchmarks that change it.
func copySource(b *testing.B, src, dst string) {
	in, err := os.Open(src)
	testsys.Must(b, err)
	defer in.Close()
	out, err := os.Create(dst)
	testsys.Must(b, err)
	defer out.Close()
	_, err = io.Copy(out, in)
	testsys.Must(b, err)
}

func newBenchStore(b *testing.B) *DirStore {
	s, err := OpenDirStore(filepath.Join(b.TempDir(), "chunks"))
	testsys.Must(b, err)
	return s
}

// benchBackup times full backups of a source into empty stores.
func benchBackup(b *testing.B, kind string, o Options) {
	src := benchSource(b, kind)
	b.SetBytes(benchSize)
	b.ResetTimer()
	var st Stats
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store := newBenchStore(b) // kept until the end: deleting now would TRIM during the next run
		b.StartTimer()
		var err error
		_, st, err = Backup(context.Background(), src, store, filepath.Join(store.Dir(), "index"), o)
		testsys.Must(b, err)
	}
	b.ReportMetric(float64(st.StoredBytes)/float64(st.Size), "stored/byte")
}

func BenchmarkBackupCompressible(b *testing.B)   { benchBackup(b, "text", Options{}) }
func BenchmarkBackupIncompressible(b *testing.B) { benchBackup(b, "random", Options{}) }
func BenchmarkBackupZero(b *testing.B)           { benchBackup(b, "zero", Options{}) }

// BenchmarkBackupRealFiles backs up the concatenated files of
// /usr/local/go and /usr/share: real data (sources, binaries, archives,
// documentation) rather than synthetic text.
func BenchmarkBackupRealFiles(b *testing.B) { benchBackup(b, "realfiles", Options{}) }

// BenchmarkChunkSize compares full backups of the compressible source with
// 1, 2 and 4 MiB chunks.
func BenchmarkChunkSize(b *testing.B) {
	for _, cs := range []int{1 * mib, 2 * mib, 4 * mib} {
		b.Run(fmt.Sprintf("%dMiB", cs/mib), func(b *testing.B) { benchBackup(b, "text", Options{ChunkSize: cs}) })
	}
}

// BenchmarkIncremental1Percent times a backup after 1% of the
// compressible source changed since the previous backup into the same
// store: as a few clustered runs (files rewritten) or as 4 KiB blocks
// scattered over the whole image (the worst case), for each chunk size;
// "unchanged" is the floor: nothing changed.
func BenchmarkIncremental1Percent(b *testing.B) {
	for _, layout := range []string{"clustered", "scattered", "unchanged"} {
		for _, cs := range []int{1 * mib, 2 * mib, 4 * mib} {
			b.Run(fmt.Sprintf("%s/%dMiB", layout, cs/mib), func(b *testing.B) {
				benchIncremental(b, layout, Options{ChunkSize: cs})
			})
		}
	}
}

func benchIncremental(b *testing.B, layout string, o Options) {
	src := filepath.Join(b.TempDir(), "src")
	copySource(b, benchSource(b, "text"), src)
	store := newBenchStore(b)
	_, _, err := Backup(context.Background(), src, store, filepath.Join(store.Dir(), "base"), o)
	testsys.Must(b, err)
	b.SetBytes(benchSize)
	b.ResetTimer()
	var stored, added int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		changeOnePercent(b, src, layout, uint64(i))
		b.StartTimer()
		_, st, err := Backup(context.Background(), src, store, filepath.Join(store.Dir(), "index"), o)
		testsys.Must(b, err)
		stored += st.StoredBytes
		added += st.NewChunks
	}
	b.ReportMetric(float64(stored)/float64(b.N)/mib, "MiB-stored/op")
	b.ReportMetric(float64(added)/float64(b.N), "new-chunks/op")
}

// changeOnePercent overwrites 1% of the file with new text.
func changeOnePercent(b *testing.B, path, layout string, seed uint64) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	testsys.Must(b, err)
	defer f.Close()
	if layout == "unchanged" {
		return
	}
	r := rand.New(rand.NewPCG(seed, 99))
	runs, runLen := int64(4), int64(benchSize/100/4) // clustered: 4 runs of 640 KiB
	if layout == "scattered" {
		runs, runLen = benchSize/100/(4*kib), 4*kib
	}
	for i := range runs {
		off := r.Int64N(benchSize-runLen) &^ (4*kib - 1)
		_, err := f.WriteAt(span{Len: runLen, Kind: "text", Seed: seed<<20 + uint64(i)}.fill(), off)
		testsys.Must(b, err)
	}
}

// BenchmarkRestore times restoring the compressible source to a file.
func BenchmarkRestore(b *testing.B) {
	src := benchSource(b, "text")
	store := newBenchStore(b)
	idx, _, err := Backup(context.Background(), src, store, filepath.Join(store.Dir(), "index"), Options{})
	testsys.Must(b, err)
	dir := b.TempDir()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		testsys.Must(b, Restore(context.Background(), idx, store, filepath.Join(dir, fmt.Sprint(i)), RestoreOptions{}))
	}
}

// BenchmarkCompressLevel encodes 4 MiB chunks on every core with the zstd
// levels in question, reporting the stored size per input byte.
func BenchmarkCompressLevel(b *testing.B) {
	for _, kind := range []string{"text", "realfiles", "random"} {
		data, err := os.ReadFile(benchSource(b, kind))
		testsys.Must(b, err)
		for _, lv := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
			b.Run(kind+"/"+lv.String(), func(b *testing.B) {
				c, err := newCodecLevel(2, lv)
				testsys.Must(b, err)
				defer c.close()
				var mu sync.Mutex // guards in and out
				var in, out int64
				b.SetBytes(DefaultChunkSize)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					var dst []byte
					i := 0
					for pb.Next() {
						chunk := data[i%(benchSize/DefaultChunkSize)*DefaultChunkSize:][:DefaultChunkSize]
						dst = c.encode(dst, chunk)
						mu.Lock()
						in, out = in+int64(len(chunk)), out+int64(len(dst))
						mu.Unlock()
						i++
					}
				})
				b.ReportMetric(float64(out)/float64(in), "stored/byte")
			})
		}
	}
}

// BenchmarkChunkHash compares BLAKE3 with xxhash64 on 4 MiB chunks on
// every core, for the "skip BLAKE3 when xxhash64 matches the previous
// backup" shortcut.
func BenchmarkChunkHash(b *testing.B) {
	data := span{Len: DefaultChunkSize, Kind: "random", Seed: 1}.fill()
	for name, h := range map[string]func([]byte){
		"blake3":   func(p []byte) { sumID(p) },
		"xxhash64": func(p []byte) { xxhash.Sum64(p) },
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h(data)
				}
			})
		})
	}
}

// BenchmarkPutSync stores 64 MiB of incompressible 4 MiB chunks from two
// goroutines: DirStore (no fsync per chunk, one syncfs, renames, one
// syncfs) against an fsync of every chunk before its rename.
func BenchmarkPutSync(b *testing.B) {
	chunks := make([][]byte, 16)
	for i := range chunks {
		chunks[i] = span{Len: DefaultChunkSize + 1, Kind: "random", Seed: uint64(i)}.fill()
	}
	put := map[string]func(s *DirStore, id ID, data []byte) error{
		"batched":    func(s *DirStore, id ID, data []byte) error { return s.Put(context.Background(), id, data) },
		"fsync-each": putFsync,
	}
	for _, name := range []string{"batched", "fsync-each"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(chunks)) * DefaultChunkSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := newBenchStore(b)
				b.StartTimer()
				var g errgroup.Group
				for w := range 2 {
					g.Go(func() error {
						for j := w; j < len(chunks); j += 2 {
							chunks[j][0] = byte(i) // a new id every iteration
							if err := put[name](s, sumID(chunks[j]), chunks[j]); err != nil {
								return err
							}
						}
						return nil
					})
				}
				testsys.Must(b, g.Wait())
				testsys.Must(b, s.Sync(context.Background()))
			}
		})
	}
}

// putFsync stores a chunk the way DirStore does not: temporary file,
// fsync, rename.
func putFsync(s *DirStore, id ID, data []byte) error {
	final := s.path(id)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(final), ".tmp")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return renameNoReplace(f.Name(), final)
}
