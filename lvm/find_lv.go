package lvm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// ErrNotLV is wrapped by FindLV's error for a device that is none of the
// logical volumes lvs reports.
var ErrNotLV = errors.New("not an LVM logical volume")

// FindLV returns "VG/LV" of the logical volume dev is: a /dev/VG/LV,
// /dev/mapper/VG-LV or VG/LV name of one of the volumes lvs lists, or
// another node or link of one's device. It only reads (lvs, stat). The
// error wraps ErrNotLV when dev is none of them, and toolpath.ErrNotFound
// when lvs is not installed. log may be nil.
func FindLV(ctx context.Context, log *slog.Logger, dev string) (string, error) {
	rows, err := lvs(ctx, logOrDiscard(log), "vg_name,lv_name,lv_path")
	if err != nil {
		return "", fmt.Errorf("ask LVM whether %s is a logical volume: %w", dev, err)
	}
	vg, name, named := SplitLV(dev)
	for _, r := range rows {
		if (named && r.VG == vg && r.Name == name) || (r.Path != "" && sameDevice(r.Path, dev)) {
			return lvRef(r.VG, r.Name), nil
		}
	}
	return "", fmt.Errorf("%s: lvs lists no logical volume of that name or device: %w", dev, ErrNotLV)
}
