package fileops

import (
	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/manifest"
)

// FromTimespec returns a time the kernel reported (a stat's Mtim or Ctim)
// as a manifest.Time, exactly, whatever its year.
func FromTimespec(ts unix.Timespec) manifest.Time {
	return manifest.Time{Sec: ts.Sec, Nsec: uint32(ts.Nsec)}
}

// ToTimespec returns t as the timespec utimensat takes, exactly; the file
// system clamps a time it cannot keep. t must be valid (Reader and
// Writer.Add guarantee it for every entry); otherwise utimensat fails with
// EINVAL.
func ToTimespec(t manifest.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Sec, Nsec: int64(t.Nsec)}
}
