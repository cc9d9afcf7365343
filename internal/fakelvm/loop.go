package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/mountinfo"
)

// attach attaches image to a free loop device, read-only if ro, and
// returns the device.
func attach(image string, ro bool) (string, error) {
	args := []string{"--find", "--show", image}
	if ro {
		args = append([]string{"--read-only"}, args...)
	}
	out, err := exec.Command("losetup", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("losetup %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// setReadOnly makes the block device dev read-only or writable.
func setReadOnly(dev string, ro bool) error {
	flag := "--setrw"
	if ro {
		flag = "--setro"
	}
	if out, err := exec.Command("blockdev", flag, dev).CombinedOutput(); err != nil {
		return fmt.Errorf("blockdev %s %s: %v: %s", flag, dev, err, out)
	}
	return nil
}

// detachTimeout bounds the wait for the kernel to finish a detach.
const detachTimeout = 10 * time.Second

// detach detaches the loop device dev, backed by image, and waits until it
// is gone, as lvremove returns only once the volume's device is: the
// kernel tears a loop device down after losetup -d returns, in the
// background, later still on a busy machine.
func detach(dev, image string) error {
	if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
		return fmt.Errorf("losetup -d %s: %v: %s", dev, err, out)
	}
	backing := filepath.Join("/sys/block", filepath.Base(dev), "loop", "backing_file")
	for deadline := time.Now().Add(detachTimeout); ; {
		b, err := os.ReadFile(backing)
		// Gone, or already reused for another file.
		if err != nil || strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)") != image {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("losetup -d %s: still attached to %s after %v", dev, image, detachTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isMounted reports whether the block device dev is mounted anywhere in
// this mount namespace, by its device number in /proc/self/mountinfo.
func isMounted(dev string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return false, fmt.Errorf("stat %s: %w", dev, err)
	}
	// uint64: Rdev is narrower on some systems.
	want := fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
	ms, err := mountinfo.Read()
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ms, func(m mountinfo.Entry) bool { return m.Dev == want }), nil
}

// copySparse copies the file src to the new file dst, keeping holes, so a
// mostly empty image costs only its data.
func copySparse(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := copyData(out, in, fi.Size()); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// copyData copies the data extents of in (SEEK_DATA/SEEK_HOLE) to out and
// sets out's size.
func copyData(out, in *os.File, size int64) error {
	if err := out.Truncate(size); err != nil {
		return err
	}
	for off := int64(0); off < size; {
		data, err := unix.Seek(int(in.Fd()), off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			return nil // only a hole is left
		}
		if err != nil {
			return fmt.Errorf("seek data: %w", err)
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("seek hole: %w", err)
		}
		if _, err := io.Copy(io.NewOffsetWriter(out, data), io.NewSectionReader(in, data, hole-data)); err != nil {
			return err
		}
		off = hole
	}
	return nil
}
