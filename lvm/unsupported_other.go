//go:build !linux

package lvm

import (
	"context"
	"errors"
	"log/slog"
)

// errUnsupported is what every snapshot operation returns off Linux:
// LVM, btrfs and /proc/self/mountinfo are Linux's.
var errUnsupported = errors.New("snapshots are only supported on Linux")

type runLock struct{}

func (*runLock) unlock() {}

func lockShared(context.Context, string) (*runLock, error) { return nil, errUnsupported }

func tryLockExclusive(string) (*runLock, error) { return nil, errUnsupported }

func isSubvolume(string) (bool, error) { return false, errUnsupported }

func mountSnapshot(context.Context, *slog.Logger, string, string) error { return errUnsupported }

func mountsUnder(string) ([]mountEntry, error) { return nil, errUnsupported }

func unmount(context.Context, *slog.Logger, string) error { return errUnsupported }
