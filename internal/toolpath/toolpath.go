// Package toolpath finds the external programs lvback runs (LVM's tools,
// mount, blkid, btrfs, operators' hooks) also under cron's minimal
// environment, whose PATH=/usr/bin:/bin lacks the sbin directories where
// Debian installs them. It only looks; it never runs anything.
package toolpath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// fallbackDirs are searched after PATH, in this order: where Debian and
// local installs put administration tools.
var fallbackDirs = []string{"/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"}

// packages names the Debian package that provides each tool lvback runs,
// for the error that says what to install.
var packages = map[string]string{
	"lvs": "lvm2", "lvcreate": "lvm2", "lvremove": "lvm2", "lvchange": "lvm2", "dmsetup": "dmsetup",
	"blkid": "util-linux", "mount": "mount", "umount": "mount", "fsfreeze": "util-linux",
	"btrfs": "btrfs-progs", "thin_delta": "thin-provisioning-tools", "thin_dump": "thin-provisioning-tools",
}

// ErrNotFound is wrapped by every error of Find for a program that is
// installed nowhere it looks.
var ErrNotFound = errors.New("not found")

// Find returns the path of the program name: name itself when it holds a
// slash, else the first executable regular file called name in $PATH and
// then in /usr/local/sbin, /usr/sbin, /sbin, /usr/bin and /bin. A program
// found nowhere is an error naming it, where it looked and, for lvback's
// own tools, the Debian package to install; it wraps ErrNotFound.
func Find(name string) (string, error) {
	return find(name, os.Getenv("PATH"), fallbackDirs)
}

func find(name, path string, fallback []string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty program name: %w", ErrNotFound)
	}
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return name, nil
		}
		return "", fmt.Errorf("%s is not an executable file: %w", name, ErrNotFound)
	}
	dirs := append(filepath.SplitList(path), fallback...)
	for _, dir := range dirs {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // a relative PATH entry would run whatever the working directory holds
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	hint := ""
	if pkg := packages[name]; pkg != "" {
		hint = "; install the Debian package " + pkg
	}
	return "", fmt.Errorf("program %s %w in PATH or %s%s", name, ErrNotFound, strings.Join(fallback, ":"), hint)
}

// SearchPath is the search path Find uses, as a PATH value: $PATH followed
// by those of /usr/local/sbin, /usr/sbin, /sbin, /usr/bin and /bin it lacks.
// lvback gives it to the commands it runs through /bin/sh (operators'
// hooks), so that the shell finds a program where Find would.
func SearchPath() string {
	return searchPath(os.Getenv("PATH"), fallbackDirs)
}

func searchPath(path string, fallback []string) string {
	dirs := filepath.SplitList(path)
	if path == "" {
		dirs = nil
	}
	for _, d := range fallback {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return strings.Join(dirs, string(os.PathListSeparator))
}

// isExecutable reports whether p is a regular file (after symlinks) with
// an execute bit.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
