package manifest

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeGen writes genEntry(0) to genEntry(n-1) to w through a Writer.
func writeGen(dst io.Writer, n int) error {
	w, err := NewWriter(dst)
	if err != nil {
		return err
	}
	for i := range n {
		if err := w.Add(genEntry(i)); err != nil {
			return err
		}
	}
	return w.Close()
}

// TestStreamMemory streams a million entries from a Writer to a Reader
// through a pipe and checks that neither holds the manifest in memory.
func TestStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: streams 1,000,000 entries")
	}
	const n = 1_000_000
	const limit = 64 << 20
	pr, pw := io.Pipe()
	cw := &countingWriter{w: pw}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeGen(cw, n)) // nil closes with io.EOF
	}()
	defer func() {
		pr.Close() // unblocks the writer if the test failed early
		<-done
	}()

	runtime.GC()
	r, err := NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var peak uint64
	var ms runtime.MemStats
	for i := 0; ; i++ {
		e, err := r.Next()
		if errors.Is(err, io.EOF) && i == n {
			break
		}
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if !reflect.DeepEqual(e, genEntry(i)) {
			t.Fatalf("entry %d: got %+v, want %+v", i, e, genEntry(i))
		}
		if i%50_000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	<-done
	t.Logf("%d entries in %d bytes: %.1f bytes/entry; peak HeapInuse %.1f MiB",
		n, cw.n, float64(cw.n)/n, float64(peak)/(1<<20))
	if peak > limit {
		t.Errorf("peak HeapInuse %d bytes, want at most %d", peak, limit)
	}
}

const benchEntries = 100_000

func genEntries(n int) []*Entry {
	es := make([]*Entry, n)
	for i := range es {
		es[i] = genEntry(i)
	}
	return es
}

// benchWrite encodes es with newWriter(level, window) once per iteration
// and reports entries/s and bytes/entry.
func benchWrite(b *testing.B, es []*Entry, level zstd.EncoderLevel, window int) {
	cw := &countingWriter{w: io.Discard}
	for b.Loop() {
		cw.n = 0
		w, err := newWriter(cw, level, window)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range es {
			if err := w.Add(e); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(es))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(cw.n)/float64(len(es)), "bytes/entry")
}

func BenchmarkWrite(b *testing.B) {
	benchWrite(b, genEntries(benchEntries), encoderLevel, encoderWindow)
}

func BenchmarkRead(b *testing.B) {
	data := encode(b, genEntries(benchEntries))
	for b.Loop() {
		r, err := NewReader(&readerOnly{data: data})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			if _, err = r.Next(); err != nil {
				break
			}
		}
		if !errors.Is(err, io.EOF) || n != benchEntries {
			b.Fatalf("read %d entries, then %v", n, err)
		}
		r.Close()
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(len(data))/benchEntries, "bytes/entry")
}

// readerOnly serves data through Read alone, like a file.
type readerOnly struct{ data []byte }

func (r *readerOnly) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// BenchmarkLevel compares zstd levels and windows for encoderLevel and
// encoderWindow in format.go.
func BenchmarkLevel(b *testing.B) {
	es := genEntries(benchEntries)
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		for _, window := range []int{1 << 20, 8 << 20} {
			b.Run(fmt.Sprintf("%s/%dMiB", level, window>>20), func(b *testing.B) {
				benchWrite(b, es, level, window)
			})
		}
	}
}

// BenchmarkDiff streams two manifests of benchEntries entries that differ
// in 1% of them (size changed), as `lvback diff` does.
func BenchmarkDiff(b *testing.B) {
	old := genEntries(benchEntries)
	changed := genEntries(benchEntries)
	for i := 0; i < len(changed); i += 100 {
		changed[i].Size++
	}
	a, c := encode(b, old), encode(b, changed)
	for b.Loop() {
		ra, err := NewReader(&readerOnly{data: a})
		if err != nil {
			b.Fatal(err)
		}
		rc, err := NewReader(&readerOnly{data: c})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if err := Diff(ra, rc, func(Change) error { n++; return nil }); err != nil || n != benchEntries/100 {
			b.Fatalf("%d changes, %v; want %d", n, err, benchEntries/100)
		}
		ra.Close()
		rc.Close()
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
