package engine

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FIEMAP (linux/fiemap.h); golang.org/x/sys/unix has no helper for it.
const (
	fsIocFiemap       = 0xC020660B                // FS_IOC_FIEMAP
	fiemapFlagSync    = 0x1                       // FIEMAP_FLAG_SYNC: write dirty data first, so extents have addresses
	fiemapExtentLast  = 0x1                       // FIEMAP_EXTENT_LAST
	fiemapExtentVague = 0x2 | 0x4 | 0x200 | 0x400 // UNKNOWN, DELALLOC, DATA_INLINE, DATA_TAIL: no address of its own
	fiemapBatch       = 128                       // extents asked for per ioctl
)

// fiemapHeader is struct fiemap without its extents.
type fiemapHeader struct {
	start, length                  uint64
	flags, mapped, count, reserved uint32
}

// fiemapExtent is struct fiemap_extent.
type fiemapExtent struct {
	logical, physical, length uint64
	reserved64                [2]uint64
	flags                     uint32
	reserved                  [3]uint32
}

// fiemapBuf is struct fiemap with room for fiemapBatch extents.
type fiemapBuf struct {
	fiemapHeader
	extents [fiemapBatch]fiemapExtent
}

// fileExtents returns the data extents of the regular file at path
// (inode ino, checked after opening), or nil when they cannot stand for
// its storage: the file system has no FIEMAP (tmpfs), an extent has no
// address of its own (inline data, delayed allocation), or the file was
// replaced since it was listed. An empty file has no extents (a non-nil
// empty slice).
func fileExtents(path string, ino uint64) ([]extent, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Ino != ino || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil
	}
	out := []extent{}
	var buf fiemapBuf
	for start := uint64(0); ; {
		buf.fiemapHeader = fiemapHeader{start: start, length: ^uint64(0) - start, flags: fiemapFlagSync, count: fiemapBatch}
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fsIocFiemap, uintptr(unsafe.Pointer(&buf)))
		if errno != 0 {
			if errors.Is(errno, unix.EOPNOTSUPP) || errors.Is(errno, unix.ENOTTY) || errors.Is(errno, unix.EINVAL) {
				return nil, nil
			}
			return nil, fmt.Errorf("fiemap %s: %w", path, errno)
		}
		if buf.mapped == 0 {
			return out, nil
		}
		for _, e := range buf.extents[:buf.mapped] {
			if e.flags&fiemapExtentVague != 0 {
				return nil, nil
			}
			out = append(out, extent{physical: e.physical, length: e.length})
			if e.flags&fiemapExtentLast != 0 {
				return out, nil
			}
			start = e.logical + e.length
		}
	}
}
