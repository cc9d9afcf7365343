package lvm

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	Point   string // mount point, unescaped
	Options string // per-mount options: "ro,nosuid,nodev,noexec,relatime"
	FSType  string
	Source  string // unescaped
	Super   string // the file system's options: "ro,nouuid,norecovery,..."
}

// parseMountinfo parses the format of /proc/PID/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// with any number of optional fields before the "-".
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var ms []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := slices.Index(f, "-")
		if len(f) < 6 || sep < 6 || len(f) < sep+3 {
			return nil, fmt.Errorf("mountinfo: malformed line %q", sc.Text())
		}
		m := mountEntry{
			Point:   unescapeMount(f[4]),
			Options: f[5],
			FSType:  f[sep+1],
			Source:  unescapeMount(f[sep+2]),
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

// unescapeMount undoes the kernel's octal escapes of space, tab, newline
// and backslash (\040, \011, \012, \134) in a mountinfo path.
func unescapeMount(s string) string {
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

// under returns the mounts at or below dir, deepest first, so they can be
// unmounted in that order.
func under(ms []mountEntry, dir string) []mountEntry {
	dir = filepath.Clean(dir)
	var out []mountEntry
	for _, m := range ms {
		if m.Point == dir || strings.HasPrefix(m.Point, dir+"/") {
			out = append(out, m)
		}
	}
	// mountinfo lists parents before children; a later mount over the
	// same point is listed later, so reverse order is deepest first.
	slices.Reverse(out)
	return out
}
