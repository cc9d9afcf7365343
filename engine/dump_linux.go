package engine

import "golang.org/x/sys/unix"

// devNumbers splits a device number as Linux encodes it.
func devNumbers(rdev uint64) (major, minor int64) {
	return int64(unix.Major(rdev)), int64(unix.Minor(rdev))
}
