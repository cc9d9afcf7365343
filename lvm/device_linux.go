package lvm

import (
	"os"
	"syscall"
)

// sameDevice reports whether paths a and b (links followed) are nodes of
// the same block device.
func sameDevice(a, b string) bool {
	da, okA := blockDevice(a)
	db, okB := blockDevice(b)
	return okA && okB && da == db
}

// blockDevice returns the device number of the block device at path.
func blockDevice(path string) (uint64, bool) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Rdev, true
}
