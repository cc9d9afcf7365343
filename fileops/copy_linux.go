package fileops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/lvback/lvback/manifest"
	"golang.org/x/sys/unix"
)

// hasherPool holds reset BLAKE3 hashers: a new one costs more than
// hashing a small file (blake3.New was 5% of a full backup's CPU profile
// with 50,000 files of 1-64 KiB).
var hasherPool = sync.Pool{New: func() any { return blake3.New() }}

// getHasher returns a reset hasher; putHasher gives it back.
func getHasher() *blake3.Hasher  { return hasherPool.Get().(*blake3.Hasher) }
func putHasher(h *blake3.Hasher) { h.Reset(); hasherPool.Put(h) }

// bufPool holds *[]byte of copyBufSize, one per copy in flight.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, copyBufSize)
	return &b
}}

// zeros is never written to: it feeds the holes of sparse files to the hasher.
var zeros [copyBufSize]byte

// CopyFile creates dst (exclusively, mode 0600, not following a symlink) and
// copies the first size bytes of src into it in one read pass, returning the
// BLAKE3 hash of that logical content and the number of data bytes written.
// Holes in src stay holes in dst. If src's length is not size when the copy
// ends, it returns an error wrapping ErrSizeChanged. On any error dst is
// removed (unless it existed before). src is read with pread; its file offset
// is left unspecified. Cancelling ctx stops the copy (dst is removed).
func CopyFile(ctx context.Context, dst string, src *os.File, size int64) (hash [32]byte, written int64, err error) {
	return copyFile(ctx, dst, src, size, nil)
}

// CopyFileMeta is CopyFile of e.Size bytes followed by ApplyMeta(dst, e),
// done through the open descriptor (no path lookups) before dst is closed.
// An error wrapping ErrNotPermitted means the copy is complete and kept and
// only an owner or attribute could not be set; any other error removes dst.
func CopyFileMeta(ctx context.Context, dst string, src *os.File, e *manifest.Entry) (hash [32]byte, written int64, err error) {
	return copyFile(ctx, dst, src, e.Size, e)
}

// ErrNotOverwritable is returned by OverwriteFileMeta for a destination
// that is not a regular file with exactly one link: writing into it
// would change another name's content too, so the caller replaces it.
var ErrNotOverwritable = errors.New("not a regular file with one link")

// OverwriteFileMeta is CopyFileMeta into the existing regular file dst,
// which keeps its inode and its directory entry (an in-place tree: the
// directory's entries, and so its times, do not change): dst is emptied,
// written, hashed, and given e's owner, mode, xattrs (others removed) and
// mtime. A dst that is not a regular file with one link is left as it is
// (ErrNotOverwritable). On any other error dst is removed.
func OverwriteFileMeta(ctx context.Context, dst string, src *os.File, e *manifest.Entry) (hash [32]byte, written int64, err error) {
	// Look before opening: opening a device node or a FIFO for writing
	// would act on it.
	var pre unix.Stat_t
	if err := unix.Lstat(dst, &pre); err != nil {
		return hash, 0, &os.PathError{Op: "lstat", Path: dst, Err: err}
	}
	if pre.Mode&unix.S_IFMT != unix.S_IFREG || pre.Nlink != 1 {
		return hash, 0, fmt.Errorf("%s: %w", dst, ErrNotOverwritable)
	}
	fd, err := unix.Open(dst, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.ENXIO) {
			return hash, 0, fmt.Errorf("%s: %w", dst, ErrNotOverwritable) // replaced since the look
		}
		return hash, 0, &os.PathError{Op: "open", Path: dst, Err: err}
	}
	out := os.NewFile(uintptr(fd), dst)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
		out.Close()
		if err != nil {
			return hash, 0, &os.PathError{Op: "fstat", Path: dst, Err: err}
		}
		return hash, 0, fmt.Errorf("%s: %w", dst, ErrNotOverwritable)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil && !errors.Is(err, ErrNotPermitted) {
			_ = os.Remove(dst)
			hash, written = [32]byte{}, 0
		}
	}()
	if err := out.Truncate(0); err != nil {
		return hash, 0, err
	}
	if st.Uid != e.UID || st.Gid != e.GID { // applyMetaFD leaves an owner it takes for its own alone
		if err := unix.Fchown(fd, int(e.UID), int(e.GID)); err != nil && !errors.Is(err, unix.EPERM) {
			return hash, 0, &os.PathError{Op: "fchown", Path: dst, Err: err}
		}
	}
	return copyInto(ctx, out, src, e.Size, e)
}

func copyFile(ctx context.Context, dst string, src *os.File, size int64, meta *manifest.Entry) (hash [32]byte, written int64, err error) {
	// unix.Open and os.NewFile: os.OpenFile would also try to register the
	// file with the poller (three wasted syscalls per file).
	fd, err := unix.Open(dst, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return hash, 0, &os.PathError{Op: "open", Path: dst, Err: err}
	}
	out := os.NewFile(uintptr(fd), dst)
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil && !errors.Is(err, ErrNotPermitted) {
			_ = os.Remove(dst)
			hash, written = [32]byte{}, 0
		}
	}()
	return copyInto(ctx, out, src, size, meta)
}

// copyInto copies size bytes of src into the empty file out (holes stay
// holes), hashing them, and applies meta when it is not nil.
func copyInto(ctx context.Context, out, src *os.File, size int64, meta *manifest.Entry) (hash [32]byte, written int64, err error) {
	c := extentCopier{ctx: ctx, src: src, dst: out, h: getHasher()}
	defer putHasher(c.h)
	if err := c.run(size); err != nil {
		return hash, 0, err
	}
	if c.end != size { // a trailing hole (or an empty file): set the length
		if err := out.Truncate(size); err != nil {
			return hash, 0, err
		}
	}
	c.h.Sum(hash[:0])
	if meta != nil {
		err = applyMetaFD(out, meta)
	}
	return hash, c.written, err
}

// HashFile returns the BLAKE3 hash of the first size bytes of f, reading only
// its data extents (holes hash as zeros). If f's length is not size when the
// read ends, it returns an error wrapping ErrSizeChanged. f is read with
// pread; its file offset is left unspecified.
func HashFile(ctx context.Context, f *os.File, size int64) ([32]byte, error) {
	var sum [32]byte
	c := extentCopier{ctx: ctx, src: f, h: getHasher()}
	defer putHasher(c.h)
	if err := c.run(size); err != nil {
		return sum, err
	}
	c.h.Sum(sum[:0])
	return sum, nil
}

// extentCopier hashes src's logical content and, if dst is not nil, writes
// src's data extents to dst at the same offsets.
type extentCopier struct {
	ctx      context.Context // checked before every buffer: a cancelled copy stops within 1 MiB
	src, dst *os.File
	h        *blake3.Hasher
	buf      []byte
	written  int64 // data bytes written to dst
	end      int64 // offset just past the last byte written to dst
}

// denseMax is the size up to which a file is read whole, without asking
// the file system for holes: two lseeks a file were 10% of a full
// backup's system calls in a tree of small files, and a hole in such a
// file costs at most this much space in the backup (holes in larger files
// stay holes).
const denseMax = 64 << 10

// run processes src from offset 0 to size, then checks src's length.
func (c *extentCopier) run(size int64) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	c.buf = *bp
	if size <= denseMax {
		if err := c.copyRange(0, size, size); err != nil {
			return err
		}
		return checkSize(c.src, size)
	}
	for off := int64(0); off < size; {
		data, hole, err := nextData(c.src, off, size)
		if err != nil {
			return err
		}
		c.hashZeros(data - off)
		if err := c.copyRange(data, hole, size); err != nil {
			return err
		}
		off = hole
	}
	return checkSize(c.src, size)
}

// nextData returns the first data range [data, hole) of f at or after off,
// clipped to size; data == hole == size when only holes remain.
func nextData(f *os.File, off, size int64) (data, hole int64, err error) {
	data, err = f.Seek(off, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO): // nothing but holes up to EOF
		return size, size, nil
	case errors.Is(err, unix.EINVAL): // no SEEK_DATA here: all of it is data
		return off, size, nil
	case err != nil:
		return 0, 0, err
	case data >= size:
		return size, size, nil
	}
	hole, err = f.Seek(data, unix.SEEK_HOLE)
	if errors.Is(err, unix.ENXIO) { // truncated meanwhile; the read sees EOF
		return data, size, nil
	}
	if err != nil {
		return 0, 0, err
	}
	return data, min(hole, size), nil
}

// hashZeros feeds n zero bytes to the hasher.
func (c *extentCopier) hashZeros(n int64) {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		_, _ = c.h.Write(zeros[:k])
		n -= k
	}
}

// copyRange reads [off, end) of src, hashes it and writes it to dst.
func (c *extentCopier) copyRange(off, end, size int64) error {
	for off < end {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		n := int(min(int64(len(c.buf)), end-off))
		m, err := c.src.ReadAt(c.buf[:n], off)
		if m < n {
			if err == nil || errors.Is(err, io.EOF) {
				return sizeChangedError(c.src, size)
			}
			return err
		}
		_, _ = c.h.Write(c.buf[:n])
		if c.dst != nil {
			if _, err := c.dst.WriteAt(c.buf[:n], off); err != nil {
				return err
			}
			c.written += int64(n)
			c.end = off + int64(n)
		}
		off += int64(n)
	}
	return nil
}

// checkSize returns an ErrSizeChanged error unless f's length is size.
func checkSize(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("%s: %w: %d bytes at lstat, %d now", f.Name(), ErrSizeChanged, size, fi.Size())
	}
	return nil
}

// sizeChangedError reports that f ended before size.
func sizeChangedError(f *os.File, size int64) error {
	if err := checkSize(f, size); err != nil {
		return err
	}
	return fmt.Errorf("%s: %w: read ended before %d bytes", f.Name(), ErrSizeChanged, size)
}
