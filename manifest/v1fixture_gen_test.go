package manifest

import (
	"math"
	"os"
	"testing"
)

// TestWriteV1Fixture writes testdata/v1.manifest with the version-1 Writer
// when LVBACK_WRITE_V1_FIXTURE=1. It exists only at the commit that made the
// fixture: version 2 replaced the nanosecond timestamps it writes.
func TestWriteV1Fixture(t *testing.T) {
	if os.Getenv("LVBACK_WRITE_V1_FIXTURE") != "1" {
		t.Skip("set LVBACK_WRITE_V1_FIXTURE=1 to write testdata/v1.manifest")
	}
	es := []*Entry{
		{Path: "", Type: TypeDir, Mode: 0o755, Mtime: 1700000000123456789, Ctime: 1700000001000000000, Inode: 2},
		{Path: "a", Type: TypeFile, Mode: 0o644, UID: 1000, GID: 100, Size: 5, Mtime: -1, Ctime: math.MinInt64,
			Inode: 3, Hash: fullHash(1), Xattrs: []Xattr{{Name: "user.k", Value: []byte("v")}}},
		{Path: "a2", Type: TypeFile, Mode: 0o644, UID: 1000, GID: 100, Size: 5, Mtime: -1, Ctime: math.MinInt64,
			Inode: 3, LinkTo: "a", Hash: fullHash(1)},
		{Path: "b", Type: TypeSymlink, Mode: 0o777, Mtime: math.MaxInt64, Ctime: -62135596800000000, Inode: 4, Target: "a"},
		{Path: "c", Type: TypeDir, Mode: 0o700, Mtime: -1000000000, Ctime: -1000000001, Inode: 5},
		{Path: "c/fifo", Type: TypeFIFO, Mode: 0o600, Mtime: 0, Ctime: 999999999, Inode: 6},
		{Path: "c/tty", Type: TypeChar, Mode: 0o620, Mtime: 1, Ctime: 1000000000, Inode: 7, Rdev: 4<<8 | 1},
	}
	if err := os.WriteFile("testdata/v1.manifest", encode(t, es), 0o644); err != nil {
		t.Fatal(err)
	}
}
