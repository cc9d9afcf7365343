package blockdiff

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// source is an open backup source: a regular file or a block device,
// read with positioned reads of whole chunks.
type source struct {
	f    *os.File
	size int64
	path string

	// What hole last learnt from the file system: [knownFrom, dataFrom)
	// holds no data, [dataFrom, dataTo) is a data extent.
	sparse                      bool // regular file: SEEK_DATA may find holes
	knownFrom, dataFrom, dataTo int64

	direct atomic.Bool // reads bypass the page cache (O_DIRECT)

	opened   fileState       // a regular file's size and times when it was opened
	identity *SourceIdentity // a regular file's identity when it was opened
}

// openSource opens path (following symlinks: /dev/VG/LV is one) and finds
// its size: st_size for a regular file, BLKGETSIZE64 for a block device.
// Anything else is refused.
func openSource(path string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, size, err := statSource(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	adviseSequential(f)
	// SEEK_DATA may find holes in a regular file
	s := &source{f: f, size: size, path: path, sparse: fi.Mode().IsRegular()}
	if s.sparse {
		s.opened, s.identity = stateOf(fi), identityOf(fi)
	}
	s.direct.Store(setDirect(f, true))
	return s, nil
}

// close closes the source.
func (s *source) close() { _ = s.f.Close() } // read-only: nothing to lose

// read fills buf from offset off; a source shorter than its size at open
// is an error. It is safe for concurrent use. For direct reads, off must be a multiple of directAlign and
// buf must come from alignedBuffer with room to round its length up to a
// multiple of directAlign. A direct read the device refuses (EINVAL: an
// alignment it does not support) turns direct reads off and is retried
// through the page cache.
func (s *source) read(buf []byte, off int64) error {
	var n int
	var err error
	direct := s.direct.Load()
	if direct {
		n, err = s.f.ReadAt(buf[:roundUp(len(buf), directAlign)], off)
		if isEINVAL(err) {
			s.direct.Store(false)
			setDirect(s.f, false)
			direct = false
		}
	}
	if !direct {
		n, err = s.f.ReadAt(buf, off)
	}
	if n >= len(buf) {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: source shrank below %d bytes while being read", s.path, s.size)
	}
	return fmt.Errorf("read %s at offset %d: %w", s.path, off, err)
}

// roundUp rounds n up to a multiple of a power of two a.
func roundUp(n, a int) int { return (n + a - 1) &^ (a - 1) }

// hole reports whether [off, off+n) holds no data at all in a sparse
// regular file, so that it need not be read. Calls must come with
// non-decreasing off; it asks the file system (SEEK_DATA, SEEK_HOLE) only
// when the extent it knew about is passed.
func (s *source) hole(off, n int64) (bool, error) {
	if !s.sparse {
		return false, nil
	}
	if off >= s.knownFrom && off < s.dataTo {
		return off+n <= s.dataFrom, nil
	}
	data, end, err := nextData(s.f, off, s.size)
	if err != nil {
		return false, fmt.Errorf("%s: %w", s.path, err)
	}
	s.knownFrom, s.dataFrom, s.dataTo = off, data, end
	return off+n <= data, nil
}

// changed describes how a regular file's size, mtime or ctime moved since
// it was opened (fstat on the same descriptor, as tar's "file changed as
// we read it" does); "" when none did, and always for a block device,
// whose writes no time stamp records. A write within the file system's
// time stamp tick of the open that keeps the size goes unnoticed.
func (s *source) changed() (string, error) {
	if !s.sparse {
		return "", nil
	}
	fi, err := s.f.Stat()
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.path, err)
	}
	return s.opened.diff(stateOf(fi)), nil
}

// SourceInfo describes a backup source as Backup reads it.
type SourceInfo struct {
	Size   int64 // bytes Backup reads: st_size, or BLKGETSIZE64 for a device
	Device bool  // a block device; otherwise a regular file
	// ReadOnly says the kernel refuses writes to the block device
	// (BLKROGET: blockdev --setro, losetup -r, lvchange -pr).
	ReadOnly bool
}

// StatSource describes src, which Backup would read: a regular file or a
// block device. Other file types are an error, as in Backup.
func StatSource(src string) (SourceInfo, error) {
	s, err := openSource(src)
	if err != nil {
		return SourceInfo{}, err
	}
	defer s.close()
	info := SourceInfo{Size: s.size, Device: !s.sparse}
	if info.Device {
		if info.ReadOnly, err = deviceReadOnly(s.f); err != nil {
			return SourceInfo{}, fmt.Errorf("%s: %w", src, err)
		}
	}
	return info, nil
}

// SourceSize returns the number of bytes Backup would read from src: the
// size of a regular file or of a block device (BLKGETSIZE64). Other file
// types are an error, as in Backup. Callers use it as a progress total.
func SourceSize(src string) (int64, error) {
	info, err := StatSource(src)
	return info.Size, err
}
