package engine

import (
	"errors"
	"fmt"

	"github.com/lvback/lvback/blockdiff"
)

// ErrNotSnapshot refuses, under RequireSnapshot, a source that is not a
// snapshot lvback made and whose writes during the read cannot be seen:
// a writable block device, or a directory in file mode. Nothing was
// written.
var ErrNotSnapshot = errors.New("not a snapshot lvback made")

// ErrSourceChanged refuses, under RequireSnapshot, an image file whose
// size, mtime or ctime moved while it was read. The backup was not kept.
var ErrSourceChanged = errors.New("source changed while it was read")

// checkLiveDevice runs liveDeviceCheck on o.Source, unless it is a
// snapshot lvback made, and logs the warning it returns.
func (o *BlockOptions) checkLiveDevice() (warning string, err error) {
	if o.Snapshot {
		return "", nil
	}
	si, err := blockdiff.StatSource(o.Source)
	if err == nil {
		warning, err = liveDeviceCheck(o.Source, si, o.RequireSnapshot)
	}
	if warning != "" {
		o.Log.Warn(warning, "volume", o.Name)
	}
	return warning, err
}

// liveDeviceCheck decides, before the read, about a block-mode source
// that is not a snapshot lvback made: a writable block device may be in
// use and nothing tells its writes, so it gets a warning (returned), or
// is refused with ErrNotSnapshot under require. A read-only device (no
// one can write it through the kernel) and a regular file (checked after
// the read, see changedSourceCheck) pass.
func liveDeviceCheck(src string, info blockdiff.SourceInfo, require bool) (warning string, err error) {
	if !info.Device || info.ReadOnly {
		return "", nil
	}
	if require {
		return "", fmt.Errorf("%s is a writable block device, %w: use --lv to snapshot it, or make it read-only (blockdev --setro)", src, ErrNotSnapshot)
	}
	return src + " is a block device that is not a snapshot lvback made: if it is in use, the image may be inconsistent; use --lv to snapshot it", nil
}

// changedSourceCheck decides, after the read, about an image file that
// changed while it was read (changed is blockdiff.Stats.SourceChanged,
// "" when it did not): a warning (returned) to record with the backup,
// or, under require, ErrSourceChanged.
func changedSourceCheck(changed string, require bool) (warning string, err error) {
	switch {
	case changed == "":
		return "", nil
	case require:
		return "", fmt.Errorf("%w (%s); nothing kept: back up a snapshot (--lv) or a copy", ErrSourceChanged, changed)
	}
	return fmt.Sprintf("%s (%s): the image may be inconsistent; back up a snapshot (--lv) or a copy", ErrSourceChanged, changed), nil
}
