//go:build !linux

package weed

import (
	"errors"
	"time"
)

// processCPU is not implemented off Linux.
func processCPU(int) (time.Duration, error) {
	return 0, errors.New("a process's CPU time is read from /proc on Linux only")
}
