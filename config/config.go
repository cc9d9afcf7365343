// Package config reads lvback's TOML configuration: one repository, many
// volumes, defaults, retention and a failure hook. It validates everything
// before anything is touched and reports problems as "file:line: message".
// It never runs anything.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/retention"
)

// Config is a whole configuration file.
type Config struct {
	Repo        string     `toml:"repo"`
	OnFailure   string     `toml:"on_failure"`   // run through /bin/sh with the run's summary on stdin, only when something failed
	MetricsFile string     `toml:"metrics_file"` // Prometheus text-format metrics written after each run
	Defaults    Defaults   `toml:"defaults"`
	Retention   *Retention `toml:"retention"` // applied after the backups by `run`; nil means no pruning
	Volumes     []Volume   `toml:"volume"`

	path string
}

// Defaults apply to every volume that does not set the field itself.
type Defaults struct {
	SnapshotSize string `toml:"snapshot_size"`
	Jobs         int    `toml:"jobs"`
	Checksum     bool   `toml:"checksum"`
	Excludes
}

// Excludes are the exclude keys of [defaults] and of a [[volume]] (a
// volume's add to the defaults; see Config.Excludes).
type Excludes struct {
	Exclude          []string `toml:"exclude"`            // patterns, package exclude's syntax
	ExcludeFile      string   `toml:"exclude_file"`       // absolute path of a file of patterns, read by Load
	ExcludeCaches    *bool    `toml:"exclude_caches"`     // a volume's setting overrides the default's
	ExcludeIfPresent []string `toml:"exclude_if_present"` // marker names

	filePatterns []string // read from ExcludeFile by Load
}

// Retention is a [retention] table: retention.Policy with a text duration.
type Retention struct {
	KeepLast    int    `toml:"keep_last"`
	KeepHourly  int    `toml:"keep_hourly"`
	KeepDaily   int    `toml:"keep_daily"`
	KeepWeekly  int    `toml:"keep_weekly"`
	KeepMonthly int    `toml:"keep_monthly"`
	KeepYearly  int    `toml:"keep_yearly"`
	KeepWithin  string `toml:"keep_within"`
}

// Volume is one [[volume]] table: exactly one of LV, Path or Btrfs says
// what to back up.
type Volume struct {
	Name         string     `toml:"name"`
	LV           string     `toml:"lv"`    // LVM logical volume: snapshot, mount read-only, back up the files
	Path         string     `toml:"path"`  // a plain directory, no snapshot
	Btrfs        string     `toml:"btrfs"` // a btrfs subvolume: read-only btrfs snapshot
	Mode         string     `toml:"mode"`  // "files" (the default) or "blocks" (an LV or image read as raw chunks)
	SnapshotSize string     `toml:"snapshot_size"`
	Jobs         int        `toml:"jobs"`
	Checksum     *bool      `toml:"checksum"`
	Retention    *Retention `toml:"retention"` // overrides the global [retention]
	Excludes
}

// Kind says what a volume's source is: "lv", "path" or "btrfs".
func (v *Volume) Kind() string {
	switch {
	case v.LV != "":
		return "lv"
	case v.Btrfs != "":
		return "btrfs"
	}
	return "path"
}

// Source is the LV device, directory or subvolume the volume backs up.
func (v *Volume) Source() string { return v.LV + v.Path + v.Btrfs }

// Path is the file the configuration was read from.
func (c *Config) Path() string { return c.path }

// Policy returns the retention policy of a volume (its own table, else
// the global one) and whether there is one.
func (c *Config) Policy(v *Volume) (retention.Policy, bool) {
	r := c.Retention
	if v.Retention != nil {
		r = v.Retention
	}
	if r == nil {
		return retention.Policy{}, false
	}
	p, _ := r.policy() // validated by Load
	return p, true
}

func (r *Retention) policy() (retention.Policy, error) {
	p := retention.Policy{Last: r.KeepLast, Hourly: r.KeepHourly, Daily: r.KeepDaily,
		Weekly: r.KeepWeekly, Monthly: r.KeepMonthly, Yearly: r.KeepYearly}
	if r.KeepWithin != "" {
		d, err := retention.ParseDuration(r.KeepWithin)
		if err != nil {
			return p, err
		}
		p.Within = d
	}
	return p, p.Validate()
}

// Load reads and validates a configuration file. Unknown keys, wrong types
// and missing or contradictory fields are errors naming file and line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := checkOwnership(path); err != nil {
		return nil, err
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := c.readExcludeFiles(data); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes and validates configuration text; name is used in errors.
func Parse(name string, data []byte) (*Config, error) {
	c := &Config{path: name}
	d := toml.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(c); err != nil {
		return nil, decodeError(name, err)
	}
	if err := c.validate(data); err != nil {
		return nil, err
	}
	return c, nil
}

func decodeError(name string, err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		e := sm.Errors[0]
		line, _ := e.Position()
		return fmt.Errorf("%s:%d: unknown key %q", name, line, strings.Join(e.Key(), "."))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		return fmt.Errorf("%s:%d: %s", name, line, strings.TrimPrefix(de.Error(), "toml: "))
	}
	return fmt.Errorf("%s: %w", name, err)
}

var sizeRE = regexp.MustCompile(`^(\d+(\.\d+)?[bBsSkKmMgGtTpPeE]?|\d{1,3}%(ORIGIN|FREE|VG|PVS))$`)

func (c *Config) validate(data []byte) error {
	where := func(line int, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", c.path, line, fmt.Sprintf(format, a...))
	}
	if c.Repo == "" || !filepath.IsAbs(c.Repo) {
		return where(keyLine(data, "repo", 0), "repo must be an absolute path")
	}
	if c.Defaults.SnapshotSize != "" && !sizeRE.MatchString(c.Defaults.SnapshotSize) {
		return where(keyLine(data, "snapshot_size", 0), "snapshot_size %q: use a size like 2G or a percentage like 20%%ORIGIN", c.Defaults.SnapshotSize)
	}
	if c.Defaults.Jobs < 0 {
		return where(keyLine(data, "jobs", 0), "jobs must not be negative")
	}
	if c.Retention != nil {
		if _, err := c.Retention.policy(); err != nil {
			return where(tableLine(data, "[retention]", 0), "retention: %v", err)
		}
	}
	if len(c.Volumes) == 0 {
		return fmt.Errorf("%s: no [[volume]] tables", c.path)
	}
	seen := map[string]bool{}
	for i := range c.Volumes {
		v := &c.Volumes[i]
		line := tableLine(data, "[[volume]]", i)
		if err := v.validate(); err != nil {
			return where(line, "volume %d: %v", i+1, err)
		}
		if seen[v.Name] {
			return where(line, "volume name %q is used twice", v.Name)
		}
		seen[v.Name] = true
	}
	return c.validateExcludes(data)
}

func (v *Volume) validate() error {
	if v.Name == "" {
		return errors.New("missing name")
	}
	if err := repo.ValidName(v.Name); err != nil {
		return err
	}
	n := 0
	for _, s := range []string{v.LV, v.Path, v.Btrfs} {
		if s != "" {
			n++
			if !filepath.IsAbs(s) {
				return fmt.Errorf("%s: %q must be an absolute path", v.Name, s)
			}
		}
	}
	if n != 1 {
		return fmt.Errorf("%s: set exactly one of lv, path or btrfs", v.Name)
	}
	switch v.Mode {
	case "", "files":
	case "blocks":
		if v.Btrfs != "" {
			return fmt.Errorf("%s: mode \"blocks\" needs lv or path (an image or device), not btrfs", v.Name)
		}
	default:
		return fmt.Errorf("%s: unknown mode %q (use files or blocks)", v.Name, v.Mode)
	}
	if v.SnapshotSize != "" && !sizeRE.MatchString(v.SnapshotSize) {
		return fmt.Errorf("%s: snapshot_size %q: use a size like 2G or a percentage like 20%%ORIGIN", v.Name, v.SnapshotSize)
	}
	if v.Jobs < 0 {
		return fmt.Errorf("%s: jobs must not be negative", v.Name)
	}
	if v.Retention != nil {
		if _, err := v.Retention.policy(); err != nil {
			return fmt.Errorf("%s: retention: %v", v.Name, err)
		}
	}
	return nil
}

// tableLine returns the 1-based line of the n-th header equal to header.
func tableLine(data []byte, header string, n int) int {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == header {
			if n == 0 {
				return i + 1
			}
			n--
		}
	}
	return 1
}

// keyLine returns the line of the n-th assignment to key.
func keyLine(data []byte, key string, n int) int {
	re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(key) + `\s*=`)
	for i, l := range strings.Split(string(data), "\n") {
		if re.MatchString(l) {
			if n == 0 {
				return i + 1
			}
			n--
		}
	}
	return 1
}
