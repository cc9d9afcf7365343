package engine

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// onFirstOpen runs fn while the first open of path (a file or a directory,
// by any goroutine of any process) waits: the open has resolved path to its
// inode already, so fn can change what path names before the opener goes
// on: a race made deterministic. Later opens pass unhindered. It needs
// fanotify permission events (root); the test is skipped without them.
// fn runs on another goroutine and must not open path itself.
func onFirstOpen(t *testing.T, path string, fn func()) {
	t.Helper()
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		t.Skipf("fanotify permission events unavailable (root needed): %v", err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM|unix.FAN_ONDIR, unix.AT_FDCWD, path); err != nil {
		unix.Close(fd)
		t.Skipf("fanotify mark %s: %v", path, err)
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		first := true
		buf := make([]byte, 4096)
		for !stop.Load() {
			n, err := unix.Read(fd, buf)
			if errors.Is(err, unix.EAGAIN) {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if err != nil {
				return
			}
			for off := 0; off+int(unix.FAN_EVENT_METADATA_LEN) <= n; {
				m := (*unix.FanotifyEventMetadata)(unsafe.Pointer(&buf[off]))
				if m.Mask&unix.FAN_OPEN_PERM != 0 {
					if first {
						first = false
						fn()
					}
					resp := unix.FanotifyResponse{Fd: m.Fd, Response: unix.FAN_ALLOW}
					unix.Write(fd, (*[unsafe.Sizeof(resp)]byte)(unsafe.Pointer(&resp))[:])
				}
				if m.Fd >= 0 {
					unix.Close(int(m.Fd))
				}
				off += int(m.Event_len)
			}
		}
	}()
	t.Cleanup(func() {
		stop.Store(true)
		<-done
		unix.Close(fd) // allows any open still waiting
	})
}
