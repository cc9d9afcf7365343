package toolpath

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func executable(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	base := t.TempDir()
	path1, path2, sbin := filepath.Join(base, "p1"), filepath.Join(base, "p2"), filepath.Join(base, "sbin")
	executable(t, filepath.Join(path2, "both"))
	executable(t, filepath.Join(sbin, "both"))
	executable(t, filepath.Join(sbin, "lvs")) // only in a fallback directory, as under cron
	os.MkdirAll(filepath.Join(path1, "adir"), 0o755)
	os.WriteFile(filepath.Join(path1, "noexec"), nil, 0o644)
	executable(t, filepath.Join(base, "rel", "relonly"))
	path := strings.Join([]string{path1, "", "rel", path2}, ":")
	tests := []struct{ name, want string }{
		{"both", filepath.Join(path2, "both")}, // PATH first
		{"lvs", filepath.Join(sbin, "lvs")},    // then the fallback
		{filepath.Join(sbin, "lvs"), filepath.Join(sbin, "lvs")},
	}
	for _, tt := range tests {
		if got, err := find(tt.name, path, []string{sbin}); err != nil || got != tt.want {
			t.Errorf("find(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	t.Chdir(base)
	for _, name := range []string{"adir", "noexec", "relonly", "lvcreate", "", filepath.Join(path1, "noexec")} {
		_, err := find(name, path, []string{sbin})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("find(%q): %v, want ErrNotFound", name, err)
		}
	}
	_, err := find("lvcreate", path, []string{sbin})
	if msg := err.Error(); !strings.Contains(msg, "lvcreate") || !strings.Contains(msg, "lvm2") || !strings.Contains(msg, sbin) {
		t.Errorf("message %q does not name the tool, the package and where it looked", msg)
	}
}

// Under cron's PATH=/usr/bin:/bin, a tool in /sbin or /usr/sbin is still
// found (any Debian system has one of these).
func TestFindUnderCronPath(t *testing.T) {
	t.Setenv("PATH", "/usr/bin:/bin")
	for _, name := range []string{"ldconfig", "blkid", "losetup"} {
		if _, err := os.Stat("/usr/sbin/" + name); err != nil {
			if _, err := os.Stat("/sbin/" + name); err != nil {
				continue
			}
		}
		got, err := Find(name)
		if err != nil || !strings.Contains(got, "sbin/") {
			t.Errorf("Find(%q) = %q, %v; want the sbin copy", name, got, err)
		}
		return
	}
	t.Skip("no ldconfig, blkid or losetup in /usr/sbin or /sbin on this machine")
}

func TestSearchPath(t *testing.T) {
	fallback := []string{"/usr/sbin", "/sbin", "/usr/bin"}
	tests := []struct{ path, want string }{
		{"/usr/bin:/bin", "/usr/bin:/bin:/usr/sbin:/sbin"}, // cron's PATH
		{"", "/usr/sbin:/sbin:/usr/bin"},
		{"/opt/x:/sbin", "/opt/x:/sbin:/usr/sbin:/usr/bin"},
	}
	for _, tt := range tests {
		if got := searchPath(tt.path, fallback); got != tt.want {
			t.Errorf("searchPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
