package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A repository is never created on, or below, a mount point that fstab
// lists while nothing is mounted there (the backup disk failed to mount):
// it would fill the file system underneath. Once something is mounted
// there, it is allowed.
func TestCreateRefusesUnmountedFstabPoint(t *testing.T) {
	base := t.TempDir()
	disk := filepath.Join(base, "backup disk") // fstab escapes the space
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	fstab := filepath.Join(base, "fstab")
	text := "# /etc/fstab\n\nUUID=1 / ext4 defaults 0 1\n/dev/sdb1 none swap sw 0 0\n" +
		"LABEL=backup " + strings.ReplaceAll(disk, " ", `\040`) + " ext4 defaults,nofail 0 2\n"
	if err := os.WriteFile(fstab, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{disk, filepath.Join(disk, "lvback"), filepath.Join(disk, "a", "b")} {
		err := checkMounted(p, fstab)
		if !errors.Is(err, ErrNotMounted) || !strings.Contains(err.Error(), disk) {
			t.Errorf("%s: %v, want ErrNotMounted naming %s", p, err, disk)
		}
	}
	for _, p := range []string{base, filepath.Join(base, "other")} {
		if err := checkMounted(p, fstab); err != nil {
			t.Errorf("%s is not below an fstab mount point: %v", p, err)
		}
	}
	if err := checkMounted(filepath.Join(disk, "lvback"), filepath.Join(base, "no-fstab")); err != nil {
		t.Errorf("without an fstab: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs on the fstab mount point needs root")
	}
	if err := unix.Mount("tmpfs", disk, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(disk, unix.MNT_DETACH) })
	if err := checkMounted(filepath.Join(disk, "lvback"), fstab); err != nil {
		t.Errorf("with the disk mounted: %v", err)
	}
}
