package fakelvmtest

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Point  string // the mount point, unescaped
	Source string // the mounted device or other source, unescaped
}

// Mounts returns this process's mounts in the order of
// /proc/self/mountinfo: parents before children, later mounts over a point
// after earlier ones.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []Mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		sep := slices.Index(fs, "-")
		if len(fs) < 5 || sep < 0 || len(fs) < sep+3 {
			return nil, fmt.Errorf("mountinfo: malformed line %q", sc.Text())
		}
		ms = append(ms, Mount{Point: unescape(fs[4]), Source: unescape(fs[sep+2])})
	}
	return ms, sc.Err()
}

// MountsUnder returns the mount points at or below dir.
func MountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	ms, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.Point == dir || within(m.Point, dir) {
			out = append(out, m.Point)
		}
	}
	return out
}

// unescape undoes the kernel's octal escapes (\040 for a space, ...) in a
// mountinfo field.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
