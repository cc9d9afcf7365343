package manifest

import (
	"errors"
	"fmt"
	"io"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"

	"github.com/lvback/lvback/internal/durable"
)

// errFinished is the sticky state of a Writer after Close or Commit.
var errFinished = errors.New("manifest: writer already finished")

// Writer encodes a manifest, one entry at a time. It holds one entry and
// the zstd window in memory, never the whole manifest. A Writer is not safe
// for concurrent use. After any error it is unusable: every later call
// returns that error.
type Writer struct {
	enc     *zstd.Encoder
	sum     *xxhash.Digest // over every entry record written
	payload []byte         // reused encoding buffers
	record  []byte
	prev    string // Path of the last entry added
	count   int64
	err     error // sticky: the first failure, or errFinished

	file     *durable.File // nil for NewWriter
	finished bool          // Finish wrote the trailer
}

// Create starts a manifest that will appear at path only when Commit
// succeeds. Until then it is written to a temporary file in the same
// directory whose name starts with "." and ends with ".tmp" (see
// durable.Create). The file is created with mode 0600. Callers should
// `defer w.Abort()`.
func Create(path string) (*Writer, error) {
	f, err := durable.Create(path, 0o600)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	w, err := newWriter(f, encoderLevel, encoderWindow)
	if err != nil {
		f.Cleanup()
		return nil, err
	}
	w.file = f
	return w, nil
}

// NewWriter starts a manifest written to dst. Close must be called to write
// the trailer and flush; dst itself is never closed.
func NewWriter(dst io.Writer) (*Writer, error) {
	return newWriter(dst, encoderLevel, encoderWindow)
}

// newWriter is NewWriter with the zstd level and window as parameters, for
// BenchmarkLevel.
func newWriter(dst io.Writer, level zstd.EncoderLevel, window int) (*Writer, error) {
	if _, err := dst.Write(append([]byte(magic), version)); err != nil {
		return nil, fmt.Errorf("manifest: write header: %w", err)
	}
	enc, err := zstd.NewWriter(dst,
		zstd.WithEncoderLevel(level),
		zstd.WithWindowSize(window),
		zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return &Writer{enc: enc, sum: xxhash.New()}, nil
}

// Add appends e. Entries must come in strictly increasing Compare order of
// Path and pass ValidPath, have a valid Type, respect the limits in
// entry.go, carry a Hash only for TypeFile, have a LinkTo (if set) that is
// a valid path sorting before Path, and Xattrs sorted by Name without
// duplicates or empty names. Otherwise Add returns an error and the Writer
// is unusable. Add does not retain e. It writes alias names (IsXattrAlias)
// it is given, as lvback once did; a Reader leaves them out.
func (w *Writer) Add(e *Entry) error {
	if w.err != nil {
		return w.err
	}
	if err := checkEntry(e, w.prev, w.count == 0); err != nil {
		w.err = fmt.Errorf("manifest: add entry %d: %w", w.count, err)
		return w.err
	}
	w.payload = appendEntry(w.payload[:0], e, w.prev)
	w.record = appendRecord(w.record[:0], w.payload)
	_, _ = w.sum.Write(w.record) // never fails
	if _, err := w.enc.Write(w.record); err != nil {
		w.err = fmt.Errorf("manifest: write: %w", err)
		return w.err
	}
	w.prev = e.Path
	w.count++
	return nil
}

// Count returns the number of entries added so far.
func (w *Writer) Count() int64 { return w.count }

// Close writes the trailer and flushes the zstd stream of a Writer from
// NewWriter. It does not close the underlying writer. A Writer from Create
// must be finished with Commit or Abort instead.
func (w *Writer) Close() error {
	if w.file != nil {
		return errors.New("manifest: Close on a Writer from Create; use Commit")
	}
	return w.finish()
}

// finish writes the trailer and ends the zstd stream.
func (w *Writer) finish() error {
	if w.err != nil {
		return w.err
	}
	w.payload = appendTrailer(w.payload[:0], w.count, w.sum.Sum64())
	w.record = appendRecord(w.record[:0], w.payload)
	_, err := w.enc.Write(w.record)
	if err == nil {
		err = w.enc.Close()
	}
	if err != nil {
		w.err = fmt.Errorf("manifest: write trailer: %w", err)
		return w.err
	}
	w.err = errFinished
	return nil
}

// Finish writes the trailer of a Writer from Create into its temporary
// file (TempName) without making it durable, so that the caller can read
// it before Commit or Abort; calling it again does nothing.
func (w *Writer) Finish() error {
	if w.finished {
		return nil
	}
	if err := w.finish(); err != nil {
		return err
	}
	w.finished = true
	return nil
}

// TempName is the temporary file a Writer from Create writes until
// Commit renames it.
func (w *Writer) TempName() string { return w.file.Name() }

// Commit finishes a Writer from Create: it writes the trailer, flushes,
// fsyncs and closes the temporary file, renames it to the final path and
// fsyncs the directory. When Commit returns nil the manifest survives a
// crash. When it fails, the final path is untouched unless the rename
// already happened (then only the directory fsync failed); see
// durable.File.Commit.
func (w *Writer) Commit() error {
	if w.file == nil {
		return errors.New("manifest: Commit on a Writer from NewWriter; use Close")
	}
	if err := w.Finish(); err != nil {
		return err
	}
	if err := w.file.Commit(); err != nil {
		w.err = fmt.Errorf("manifest: %w", err)
		return w.err
	}
	return nil
}

// Abort discards a manifest from Create by removing its temporary file. It
// does nothing after a successful Commit, for a Writer from NewWriter, or
// when called again, so `defer w.Abort()` is always safe.
func (w *Writer) Abort() {
	if w.file == nil {
		return
	}
	w.file.Cleanup()
	if w.err == nil {
		w.err = errors.New("manifest: writer aborted")
	}
}
