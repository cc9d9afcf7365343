package lvm

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// snapshotPattern matches the names lvback gives its snapshot volumes
// ("<lv>-lvback-<UTC yyyymmddThhmmss>") and their mount directories
// ("<vg>-<snapshot name>"). LVM allows only [A-Za-z0-9+_.-] in names.
var snapshotPattern = regexp.MustCompile(`^[A-Za-z0-9+_.-]+-lvback-[0-9]{8}T[0-9]{6}$`)

// btrfsPattern matches the names of lvback's btrfs snapshots.
var btrfsPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}$`)

// SnapshotName is the name SnapshotLV gives a snapshot of the logical
// volume named lv (without its VG) taken at t.
func SnapshotName(lv string, t time.Time) string {
	return lv + "-lvback-" + t.UTC().Format(timeLayout)
}

// BtrfsSnapshotPath is where SnapshotBtrfs puts a snapshot of the
// subvolume at subvol taken at t.
func BtrfsSnapshotPath(subvol string, t time.Time) string {
	return filepath.Join(subvol, BtrfsSnapshotDir, t.UTC().Format(timeLayout))
}

// isSnapshotName reports whether name is one lvback gives a snapshot or
// its mount directory.
func isSnapshotName(name string) bool { return snapshotPattern.MatchString(name) }

// mountDir is where the snapshot vg/name is mounted.
func mountDir(runDir, vg, name string) string {
	return filepath.Join(runDir, vg+"-"+name)
}

// lvRef is the "VG/LV" form LVM commands take.
func lvRef(vg, name string) string { return vg + "/" + name }

// dmName is the device-mapper name of vg/lv: both parts with every "-"
// doubled, joined by "-" (vg-data, my--vg-root).
func dmName(vg, lv string) string {
	return strings.ReplaceAll(vg, "-", "--") + "-" + strings.ReplaceAll(lv, "-", "--")
}

// sizeArgs turns Options.Size into lvcreate's arguments: -L for a size
// with a unit ("2G", "512M", "1.5T"), -l for a share ("20%ORIGIN",
// "100%FREE"). Anything else is refused: a bare number would mean MiB to -L
// but extents to -l, and nothing may be taken for an option.
func sizeArgs(size string) ([]string, error) {
	switch {
	case sizeRE.MatchString(size):
		return []string{"-L", size}, nil
	case extentsRE.MatchString(size):
		return []string{"-l", size}, nil
	}
	return nil, fmt.Errorf(`invalid snapshot size %q: want a size like "2G" or a share like "20%%ORIGIN"`, size)
}

var (
	sizeRE    = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[bBsSkKmMgGtTpPeE]$`)
	extentsRE = regexp.MustCompile(`^[0-9]+%(ORIGIN|VG|FREE|PVS)$`)
)

// SplitLV returns the volume group and name of a logical volume given as
// /dev/VG/LV, VG/LV or /dev/mapper/VG-LV (each "-" of a name doubled);
// false for anything else.
func SplitLV(s string) (vg, lv string, ok bool) {
	if rest, found := strings.CutPrefix(s, "/dev/mapper/"); found {
		for i := 0; i < len(rest); i++ {
			if rest[i] != '-' {
				continue
			}
			if i+1 < len(rest) && rest[i+1] == '-' {
				i++ // a doubled "-" belongs to a name
				continue
			}
			vg, lv = strings.ReplaceAll(rest[:i], "--", "-"), strings.ReplaceAll(rest[i+1:], "--", "-")
			return vg, lv, vg != "" && lv != ""
		}
		return "", "", false
	}
	parts := strings.Split(strings.TrimPrefix(s, "/dev/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}
