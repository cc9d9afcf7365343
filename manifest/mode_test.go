package manifest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestModeString(t *testing.T) {
	for _, c := range []struct {
		t    Type
		mode uint32
		want string
	}{
		{TypeFile, 0o644, "-rw-r--r--"},
		{TypeDir, 0o755, "drwxr-xr-x"},
		{TypeSymlink, 0o777, "lrwxrwxrwx"},
		{TypeChar, 0o644, "crw-r--r--"},
		{TypeBlock, 0o660, "brw-rw----"},
		{TypeSocket, 0o755, "srwxr-xr-x"},
		{TypeFIFO, 0o600, "prw-------"},
		{TypeFile, 0o4755, "-rwsr-xr-x"},
		{TypeFile, 0o4644, "-rwSr--r--"},
		{TypeDir, 0o2750, "drwxr-s---"},
		{TypeDir, 0o2740, "drwxr-S---"},
		{TypeDir, 0o1777, "drwxrwxrwt"},
		{TypeDir, 0o1776, "drwxrwxrwT"},
		{TypeFile, 0o7000, "---S--S--T"},
		{0, 0o640, "-rw-r-----"},
	} {
		if got := ModeString(c.t, c.mode); got != c.want {
			t.Errorf("ModeString(%v, %o) = %s, want %s", c.t, c.mode, got, c.want)
		}
	}
}

// TestModeStringStat checks every type and special bit against GNU
// stat's %A (the mode string ls -l prints) of real files.
func TestModeStringStat(t *testing.T) {
	if _, err := exec.LookPath("stat"); err != nil {
		t.Skip("no stat")
	}
	dir := t.TempDir()
	mk := map[Type]func(p string) error{
		TypeFile:    func(p string) error { return os.WriteFile(p, nil, 0o600) },
		TypeDir:     func(p string) error { return os.Mkdir(p, 0o700) },
		TypeFIFO:    func(p string) error { return unix.Mkfifo(p, 0o600) },
		TypeChar:    func(p string) error { return unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))) },
		TypeBlock:   func(p string) error { return unix.Mknod(p, unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))) },
		TypeSocket:  func(p string) error { return unix.Mknod(p, unix.S_IFSOCK|0o600, 0) },
		TypeSymlink: func(p string) error { return os.Symlink("x", p) },
	}
	for typ, mkf := range mk {
		for _, mode := range []uint32{0o755, 0o4755, 0o4644, 0o2750, 0o2740, 0o1777, 0o1776, 0o7000} {
			p := filepath.Join(dir, typ.String())
			if err := mkf(p); err != nil {
				t.Skipf("make a %s: %v", typ, err)
			}
			if typ == TypeSymlink {
				mode = 0o777 // a symlink's mode is fixed
			} else if err := unix.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("stat", "-c", "%A", p).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ModeString(typ, mode), strings.TrimSpace(string(out)); got != want {
				t.Errorf("%s %o: ModeString %s, stat %s", typ, mode, got, want)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestTypeNamed(t *testing.T) {
	for typ := TypeFile; typ <= TypeSocket; typ++ {
		if got := TypeNamed(typ.String()); got != typ {
			t.Errorf("TypeNamed(%s) = %v", typ, got)
		}
	}
	if TypeNamed("image").Valid() {
		t.Error("TypeNamed(image) is valid")
	}
}
