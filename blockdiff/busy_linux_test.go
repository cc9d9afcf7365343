package blockdiff

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/mountinfo"
	"github.com/lvback/lvback/internal/testsys"
)

// fakeSysfs builds a sysfs tree under a temporary directory: loop0 with
// partitions loop0p1 (259:0) and loop0p2 (259:1, held by dm-0), loop1
// backed by /dev/loop0p1, and sda (8:0), used by nothing.
func fakeSysfs(t *testing.T) string {
	t.Helper()
	sys := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(sys, rel)
		testsys.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		testsys.Must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	mkdir := func(rel string) { testsys.Must(t, os.MkdirAll(filepath.Join(sys, rel), 0o755)) }
	link := func(rel, target string) {
		testsys.Must(t, os.MkdirAll(filepath.Dir(filepath.Join(sys, rel)), 0o755))
		testsys.Must(t, os.Symlink(target, filepath.Join(sys, rel)))
	}
	mkdir("devices/virtual/block/loop0/holders")
	write("devices/virtual/block/loop0/dev", "7:0\n")
	write("devices/virtual/block/loop0/loop0p1/partition", "1\n")
	write("devices/virtual/block/loop0/loop0p1/dev", "259:0\n")
	mkdir("devices/virtual/block/loop0/loop0p1/holders")
	write("devices/virtual/block/loop0/loop0p2/partition", "2\n")
	write("devices/virtual/block/loop0/loop0p2/dev", "259:1\n")
	link("devices/virtual/block/loop0/loop0p2/holders/dm-0", "../../../dm-0")
	write("devices/virtual/block/loop1/loop/backing_file", "/dev/loop0p1\n")
	mkdir("devices/pci/block/sda/holders")
	write("devices/pci/block/sda/dev", "8:0\n")
	link("dev/block/7:0", "../../devices/virtual/block/loop0")
	link("dev/block/8:0", "../../devices/pci/block/sda")
	link("class/block/loop0", "../../devices/virtual/block/loop0")
	link("class/block/loop1", "../../devices/virtual/block/loop1")
	link("class/block/sda", "../../devices/pci/block/sda")
	return sys
}

func TestDeviceUsers(t *testing.T) {
	sys := fakeSysfs(t)
	mounts, err := mountinfo.Parse(strings.NewReader("40 22 259:0 / /mnt/p1 rw shared:9 - ext4 /dev/loop0p1 rw\n"))
	testsys.Must(t, err)
	tests := []struct {
		name   string
		rdev   uint64
		mounts []mountinfo.Entry
		want   []string
	}{
		{"busy partitions", unix.Mkdev(7, 0), mounts,
			[]string{"loop0p1 is mounted on /mnt/p1", "loop0p2 is held by dm-0", "loop0p1 is used by loop1"}},
		{"unmounted", unix.Mkdev(7, 0), nil,
			[]string{"loop0p2 is held by dm-0", "loop0p1 is used by loop1"}},
		{"unused disk", unix.Mkdev(8, 0), mounts, nil},
		{"unknown to sysfs", unix.Mkdev(9, 9), mounts, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deviceUsers(sys, tc.mounts, tc.rdev)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("deviceUsers = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	// A holder of the whole disk counts too.
	testsys.Must(t, os.Symlink("../../md0", filepath.Join(sys, "devices/pci/block/sda/holders/md0")))
	if got, _ := deviceUsers(sys, nil, unix.Mkdev(8, 0)); !slices.Equal(got, []string{"sda is held by md0"}) {
		t.Errorf("disk held by md0: %q", got)
	}
}
