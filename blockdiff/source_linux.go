package blockdiff

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directAlign is the alignment of direct reads: offsets, lengths and
// buffer addresses are multiples of it (the largest logical block size of
// common devices; chunk sizes are multiples of it).
const directAlign = 4096

// setDirect turns O_DIRECT on or off for f and reports whether it is on.
// Direct reads of a source read once are as fast as dd iflag=direct and
// leave the page cache to the server's own work; file systems without
// O_DIRECT (tmpfs) refuse it, and then reads go through the cache.
func setDirect(f *os.File, on bool) bool {
	fd := int(f.Fd())
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return false
	}
	if on {
		flags |= unix.O_DIRECT
	} else {
		flags &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags)
	return on && err == nil
}

// isEINVAL reports whether err is EINVAL, the error of a direct read with
// an alignment the device does not accept.
func isEINVAL(err error) bool { return errors.Is(err, unix.EINVAL) }

// alignedBuffer returns an n-byte buffer whose address is a multiple of
// directAlign, as direct reads need.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(&b[0]))%directAlign)) % directAlign
	return b[skip : skip+n : skip+n]
}

// statSource returns an open regular file's or block device's file info
// and size (st_size, or BLKGETSIZE64 for a device); anything else is an
// error.
func statSource(f *os.File) (os.FileInfo, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		return fi, fi.Size(), nil
	case m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0:
		size, err := blockDevSize(f)
		return fi, size, err
	default:
		return nil, 0, fmt.Errorf("not a regular file or block device (%v)", m.Type())
	}
}

// deviceReadOnly reports whether the kernel refuses writes to the open
// block device (BLKROGET).
func deviceReadOnly(f *os.File) (bool, error) {
	ro, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKROGET)
	if err != nil {
		return false, fmt.Errorf("BLKROGET: %w", err)
	}
	return ro != 0, nil
}

// fileState is what moves when a regular file is written: its size, mtime
// and ctime.
type fileState struct {
	size         int64
	mtime, ctime unix.Timespec
}

func stateOf(fi os.FileInfo) fileState {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileState{size: fi.Size()}
	}
	return fileState{size: fi.Size(), mtime: unix.Timespec(st.Mtim), ctime: unix.Timespec(st.Ctim)}
}

// identityOf returns a regular file's SourceIdentity from its file info,
// nil when the file info has no inode.
func identityOf(fi os.FileInfo) *SourceIdentity {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil // no inode to tell the file by: never reused
	}
	id := &SourceIdentity{Dev: st.Dev, Ino: st.Ino, Size: fi.Size()}
	id.MtimeSec, id.MtimeNsec = st.Mtim.Unix()
	id.CtimeSec, id.CtimeNsec = st.Ctim.Unix()
	return id
}

// diff describes what moved from a to b, "" when nothing did.
func (a fileState) diff(b fileState) string {
	var moved []string
	if a.size != b.size {
		moved = append(moved, fmt.Sprintf("size %d -> %d bytes", a.size, b.size))
	}
	for _, t := range []struct {
		name string
		a, b unix.Timespec
	}{{"mtime", a.mtime, b.mtime}, {"ctime", a.ctime, b.ctime}} {
		if t.a != t.b {
			moved = append(moved, fmt.Sprintf("%s %s -> %s", t.name, stamp(t.a), stamp(t.b)))
		}
	}
	return strings.Join(moved, ", ")
}

func stamp(ts unix.Timespec) string {
	return time.Unix(ts.Unix()).UTC().Format(time.RFC3339Nano)
}

// blockDevSize returns a block device's size in bytes (BLKGETSIZE64).
func blockDevSize(f *os.File) (int64, error) {
	n, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
	if err != nil {
		return 0, fmt.Errorf("BLKGETSIZE64: %w", err)
	}
	return int64(n), nil
}

// adviseSequential tells the kernel to read ahead aggressively; it is
// only a hint, so failure is ignored.
func adviseSequential(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}

// nextData returns the first data offset at or after off and the end of
// that data extent (size when there is no data, or when the file system
// cannot tell holes: then everything from off is data).
func nextData(f *os.File, off, size int64) (data, end int64, err error) {
	fd := int(f.Fd())
	data, err = unix.Seek(fd, off, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO): // only a hole up to the end
		return size, size, nil
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP):
		return off, size, nil
	case err != nil:
		return 0, 0, fmt.Errorf("SEEK_DATA: %w", err)
	}
	end, err = unix.Seek(fd, data, unix.SEEK_HOLE)
	if err != nil {
		return 0, 0, fmt.Errorf("SEEK_HOLE: %w", err)
	}
	return min(data, size), min(end, size), nil
}
