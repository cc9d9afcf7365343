package repo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvback/lvback/internal/mountinfo"
)

// fstabPath is where the system lists its mount points.
const fstabPath = "/etc/fstab"

// ErrNotMounted reports a repository path on a mount point that fstab
// lists but nothing is mounted on.
var ErrNotMounted = errors.New("nothing is mounted there")

// checkMounted refuses path when it is, or is below, a mount point that
// the fstab file lists but that has nothing mounted on it now: a backup
// disk that failed to mount leaves an empty directory on the file system
// below, and a repository created there would fill it. An unreadable or
// missing fstab lists nothing.
func checkMounted(path, fstab string) error {
	abs, err := realish(path)
	if err != nil {
		return err
	}
	f, err := os.Open(fstab)
	if err != nil {
		return nil
	}
	defer f.Close()
	points, err := fstabPoints(f)
	if err != nil {
		return nil
	}
	ms, err := mountinfo.Read()
	if err != nil {
		return fmt.Errorf("read the mount table: %w", err)
	}
	for _, p := range points {
		if p == "/" || !mountinfo.Within(abs, p) {
			continue
		}
		if _, mounted := mountPointAt(ms, p); !mounted {
			return fmt.Errorf("%s: %s lists %s as a mount point but %w; mount the backup disk first (mount %s)",
				path, fstab, p, ErrNotMounted, p)
		}
	}
	return nil
}

// mountPointAt reports whether something is mounted exactly at p.
func mountPointAt(ms []mountinfo.Entry, p string) (mountinfo.Entry, bool) {
	for _, m := range ms {
		if m.Point == p {
			return m, true
		}
	}
	return mountinfo.Entry{}, false
}

// fstabPoints returns the mount points an fstab file lists (fstab(5):
// the second field, with \040-style escapes), cleaned, symlinks resolved
// where they exist; swap entries are left out.
func fstabPoints(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[2] == "swap" || !strings.HasPrefix(f[1], "/") {
			continue
		}
		p, err := realish(mountinfo.Unescape(f[1]))
		if err != nil {
			continue
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

// realish is path absolute and clean, with the symlinks of its longest
// existing part resolved (the kernel's mount table has real paths).
func realish(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest), nil
		}
		if dir == filepath.Dir(dir) {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}
