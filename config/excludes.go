package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/repo"
)

// Excludes returns the exclude rules of a volume: the defaults' patterns
// (exclude, then exclude_file's), then the volume's (the same way), so a
// volume's "!pattern" can keep what a default leaves out; exclude_caches
// of the volume if set, else of the defaults; the marker names of both.
// Block-mode volumes have none. Exclude files are read by Load.
func (c *Config) Excludes(v *Volume) exclude.Spec {
	if v.Mode == repo.ModeBlocks {
		return exclude.Spec{}
	}
	d := &c.Defaults.Excludes
	s := exclude.Spec{Patterns: slices.Concat(d.Exclude, d.filePatterns, v.Exclude, v.filePatterns)}
	for _, caches := range []*bool{d.ExcludeCaches, v.ExcludeCaches} {
		if caches != nil {
			s.Caches = *caches
		}
	}
	for _, n := range slices.Concat(d.ExcludeIfPresent, v.ExcludeIfPresent) {
		if !slices.Contains(s.IfPresent, n) {
			s.IfPresent = append(s.IfPresent, n)
		}
	}
	return s
}

// set reports whether any exclude key is given.
func (x *Excludes) set() bool {
	return len(x.Exclude) > 0 || x.ExcludeFile != "" || x.ExcludeCaches != nil || len(x.ExcludeIfPresent) > 0
}

// validateExcludes checks every pattern and marker name and that exclude
// files are absolute; an error names the config line of the key.
func (c *Config) validateExcludes(data []byte) error {
	tables := []*Excludes{&c.Defaults.Excludes}
	headers := []string{"[defaults]"}
	for i := range c.Volumes {
		v := &c.Volumes[i]
		if v.Mode == repo.ModeBlocks && v.Excludes.set() {
			return fmt.Errorf("%s:%d: volume %s: exclude keys apply to file mode only", c.path,
				tableLine(data, "[[volume]]", i), v.Name)
		}
		tables = append(tables, &v.Excludes)
		headers = append(headers, "[[volume]]")
	}
	nth := map[string]int{}
	for i, x := range tables {
		n := nth[headers[i]]
		nth[headers[i]]++
		where := func(key string, err error) error {
			return fmt.Errorf("%s:%d: %s: %v", c.path, keyLineIn(data, headers[i], n, key), key, err)
		}
		if _, err := (exclude.Spec{Patterns: x.Exclude}).Compile(); err != nil {
			return where("exclude", err)
		}
		if _, err := (exclude.Spec{IfPresent: x.ExcludeIfPresent}).Compile(); err != nil {
			return where("exclude_if_present", err)
		}
		if x.ExcludeFile != "" && !filepath.IsAbs(x.ExcludeFile) {
			return where("exclude_file", fmt.Errorf("%q must be an absolute path", x.ExcludeFile))
		}
	}
	return nil
}

// readExcludeFiles reads the exclude files of the defaults and volumes;
// an error names the config line and the exclude file's line.
func (c *Config) readExcludeFiles(data []byte) error {
	read := func(x *Excludes, header string, n int) error {
		if x.ExcludeFile == "" {
			return nil
		}
		ps, err := exclude.ReadFile(x.ExcludeFile)
		if err != nil {
			return fmt.Errorf("%s:%d: exclude_file: %v", c.path, keyLineIn(data, header, n, "exclude_file"), err)
		}
		x.filePatterns = ps
		return nil
	}
	if err := read(&c.Defaults.Excludes, "[defaults]", 0); err != nil {
		return err
	}
	for i := range c.Volumes {
		if err := read(&c.Volumes[i].Excludes, "[[volume]]", i); err != nil {
			return err
		}
	}
	return nil
}

// keyLineIn returns the line of key inside the n-th table with header (up
// to the next header), or the header's line when the key is not found
// there (written inline, or dotted).
func keyLineIn(data []byte, header string, n int, key string) int {
	start := tableLine(data, header, n)
	lines := strings.Split(string(data), "\n")
	for i := start; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "[") {
			break
		}
		if k, _, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key {
			return i + 1
		}
	}
	return start
}
