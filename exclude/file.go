package exclude

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// ReadFile reads an exclude file: one pattern per line; blank lines and
// lines starting with # are ignored; leading and trailing white space is
// trimmed (write [ ] for a space at either end, \# for a leading #). Each
// pattern is checked: an error names the file and line.
func ReadFile(name string) ([]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("exclude file: %w", err)
	}
	return ParseFile(name, data)
}

// ParseFile is ReadFile on data already read; name is used in errors.
func ParseFile(name string, data []byte) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if _, err := parsePattern(s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
