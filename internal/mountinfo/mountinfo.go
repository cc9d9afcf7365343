// Package mountinfo parses the kernel's table of mounts
// (/proc/self/mountinfo), for the packages that unmount what lvback
// mounted and for the check that a repository is not reachable from a
// source. It only reads; it never mounts or unmounts.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Entry is one line of /proc/PID/mountinfo.
type Entry struct {
	Dev     string // the file system's "major:minor" (one per superblock, also for btrfs subvolumes)
	Root    string // the directory of the file system shown at Point, unescaped: "/" or a bind mount's source
	Point   string // mount point, unescaped
	Options string // per-mount options: "ro,nosuid,nodev,noexec,relatime"
	FSType  string
	Source  string // unescaped
	Super   string // the file system's options: "ro,nouuid,norecovery,..."
}

// Parse parses the format of /proc/PID/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// with any number of optional fields before the "-".
func Parse(r io.Reader) ([]Entry, error) {
	var ms []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := slices.Index(f, "-")
		if len(f) < 6 || sep < 6 || len(f) < sep+3 {
			return nil, fmt.Errorf("mountinfo: malformed line %q", sc.Text())
		}
		m := Entry{
			Dev:     f[2],
			Root:    Unescape(f[3]),
			Point:   Unescape(f[4]),
			Options: f[5],
			FSType:  f[sep+1],
			Source:  Unescape(f[sep+2]),
		}
		if len(f) > sep+3 {
			m.Super = f[sep+3]
		}
		ms = append(ms, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	return ms, nil
}

// Unescape undoes the kernel's octal escapes of space, tab, newline and
// backslash (\040, \011, \012, \134) in a mountinfo or fstab path.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Under returns the mounts at or below dir, deepest first, so they can be
// unmounted in that order.
func Under(ms []Entry, dir string) []Entry {
	dir = filepath.Clean(dir)
	var out []Entry
	for _, m := range ms {
		if Within(m.Point, dir) {
			out = append(out, m)
		}
	}
	// mountinfo lists parents before children; a later mount over the
	// same point is listed later, so reverse order is deepest first.
	slices.Reverse(out)
	return out
}

// Within reports whether the clean absolute path p is dir or below it.
func Within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// Containing returns the mount that p (clean, absolute, symlinks
// resolved) is on: the last-listed of the mounts with the longest mount
// point that holds p. ok is false when none does.
func Containing(ms []Entry, p string) (m Entry, ok bool) {
	best := -1
	for i, e := range ms {
		if Within(p, e.Point) && (best < 0 || len(e.Point) >= len(ms[best].Point)) {
			best = i
		}
	}
	if best < 0 {
		return Entry{}, false
	}
	return ms[best], true
}
