// Package config reads lvback's TOML configuration: one repository (and
// optionally a second one that new backups are copied to), many volumes,
// defaults, retention and the operator's hooks. It validates
// everything before anything is touched and reports problems as
// "file:line: message", and merges each volume's settings with the
// defaults into the engine.VolumeOptions of its backup (VolumeOptions,
// Excludes, SnapshotHooks, Policy). It never runs anything.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/lvback/lvback/internal/tags"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/retention"
)

// Config is a whole configuration file.
type Config struct {
	Repo string `toml:"repo"`
	// CopyTo, when set, is a second repository (an absolute path or an
	// s3: URL, never Repo itself) that `run` copies each volume's new
	// backup to after the backups and retention (engine.Copy): offsite.
	CopyTo string `toml:"copy_to"`
	// BeforeSnapshot and AfterSnapshot are commands run right before and
	// right after each LV or btrfs volume's snapshot is created (see
	// Volume); a volume may set its own.
	BeforeSnapshot string `toml:"before_snapshot"`
	AfterSnapshot  string `toml:"after_snapshot"`
	// OnSuccess runs once after a run in which everything succeeded,
	// OnFailure once after a run in which anything failed (a volume, a
	// hook, retention, the repository lock, or the config itself when
	// FailureFallback can still read OnFailure). Both get the run's JSON
	// summary on stdin.
	OnSuccess string `toml:"on_success"`
	OnFailure string `toml:"on_failure"`
	// HookTimeout bounds each hook ("30s", "5m"); empty means 5 minutes.
	// A hook still running then is killed with its process group.
	HookTimeout string `toml:"hook_timeout"`
	MetricsFile string `toml:"metrics_file"` // Prometheus text-format metrics written after each run
	// CredentialsFile (an s3: repo) is an AWS shared-credentials file
	// with the bucket's keys, used when AWS_ACCESS_KEY_ID is not set.
	CredentialsFile string `toml:"credentials_file"`
	// KeyFile opens an encrypted s3: repository (as --key-file does).
	KeyFile   string     `toml:"key_file"`
	Defaults  Defaults   `toml:"defaults"`
	Retention *Retention `toml:"retention"` // applied after the backups by `run`; nil means no pruning
	Volumes   []Volume   `toml:"volume"`

	path string
}

// Defaults apply to every volume that does not set the field itself.
type Defaults struct {
	SnapshotSize string `toml:"snapshot_size"`
	Jobs         int    `toml:"jobs"`
	Checksum     bool   `toml:"checksum"`
	// RequireSnapshot refuses a path volume that may change while it is
	// read (engine.VolumeOptions.RequireSnapshot).
	RequireSnapshot bool `toml:"require_snapshot"`
	// Tags are given to every backup a run makes (a volume's tags add to
	// them; see Config.Tags).
	Tags []string `toml:"tags"`
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
	// KeepTags keeps every backup with all tags of one of these lists
	// ("a,b" needs both), as prune --keep-tag does.
	KeepTags []string `toml:"keep_tags"`
}

// Volume is one [[volume]] table: exactly one of LV, Path or Btrfs says
// what to back up.
type Volume struct {
	Name         string `toml:"name"`
	LV           string `toml:"lv"`    // LVM logical volume: snapshot, mount read-only, back up the files
	Path         string `toml:"path"`  // a plain directory, no snapshot
	Btrfs        string `toml:"btrfs"` // a btrfs subvolume: read-only btrfs snapshot
	Mode         string `toml:"mode"`  // "files" (the default) or "blocks" (an LV or image read as raw chunks)
	SnapshotSize string `toml:"snapshot_size"`
	Jobs         int    `toml:"jobs"`
	Checksum     *bool  `toml:"checksum"`
	// RequireSnapshot overrides the default's require_snapshot.
	RequireSnapshot *bool `toml:"require_snapshot"`
	// FullRead reads a blocks-mode image file even when it has not
	// changed since the last backup (engine.VolumeOptions.FullRead).
	FullRead bool `toml:"full_read"`
	// FullReadEvery ("30d", "12h") makes a block backup of a thin LV read
	// the whole volume when its newest full read is older than this
	// (engine.VolumeOptions.FullReadEvery); empty: only when thin_delta
	// cannot be used.
	FullReadEvery string     `toml:"full_read_every"`
	Retention     *Retention `toml:"retention"` // overrides the global [retention]
	// Tags are given to this volume's backups, besides the defaults' tags.
	Tags []string `toml:"tags"`
	Excludes
	// BeforeSnapshot and AfterSnapshot replace the global hooks for this
	// volume; nil keeps the global one, "" runs none. Only LV and btrfs
	// volumes take a snapshot, so a path volume may not set them.
	BeforeSnapshot *string `toml:"before_snapshot"`
	AfterSnapshot  *string `toml:"after_snapshot"`
	// HookTimeout bounds this volume's snapshot hooks; empty keeps the
	// global hook_timeout.
	HookTimeout string `toml:"hook_timeout"`
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

// SnapshotHooks returns the commands run right before and right after the
// snapshot of v ("" for none) and their timeout (0 means the default).
func (c *Config) SnapshotHooks(v *Volume) (before, after string, timeout time.Duration) {
	before, after = c.BeforeSnapshot, c.AfterSnapshot
	if v.BeforeSnapshot != nil {
		before = *v.BeforeSnapshot
	}
	if v.AfterSnapshot != nil {
		after = *v.AfterSnapshot
	}
	timeout = c.RunHookTimeout()
	if v.HookTimeout != "" {
		timeout, _ = parseTimeout(v.HookTimeout) // validated by Load
	}
	return before, after, timeout
}

// RunHookTimeout is the global hook_timeout; 0 means the default.
func (c *Config) RunHookTimeout() time.Duration {
	d, _ := parseTimeout(c.HookTimeout) // validated by Load
	return d
}

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

// Tags returns the tags of v's backups: the defaults' and v's own,
// sorted without duplicates.
func (c *Config) Tags(v *Volume) []string {
	ts, _ := tags.Parse(append(slices.Clone(c.Defaults.Tags), v.Tags...)) // validated by Load
	return ts
}

func (r *Retention) policy() (retention.Policy, error) {
	p := retention.Policy{Last: r.KeepLast, Hourly: r.KeepHourly, Daily: r.KeepDaily,
		Weekly: r.KeepWeekly, Monthly: r.KeepMonthly, Yearly: r.KeepYearly}
	lists, err := tags.ParseLists(r.KeepTags)
	if err != nil {
		return p, fmt.Errorf("keep_tags: %w", err)
	}
	p.Tags = lists
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
	remote := repo.IsRemote(c.Repo)
	if c.Repo == "" || !filepath.IsAbs(c.Repo) && !remote {
		return where(keyLine(data, "repo", 0), "repo must be an absolute path or an s3: URL")
	}
	if remote {
		if err := repo.CheckRemoteLocation(c.Repo); err != nil {
			return where(keyLine(data, "repo", 0), "repo: %v", err)
		}
	}
	copyRemote, err := c.validateCopyTo()
	if err != nil {
		return where(topKeyLine(data, "copy_to"), "%v", err)
	}
	for key, p := range map[string]string{"credentials_file": c.CredentialsFile, "key_file": c.KeyFile} {
		if p != "" && !remote && !copyRemote {
			return where(keyLine(data, key, 0), "%s applies to an s3: repo or copy_to only", key)
		}
		if p != "" && !filepath.IsAbs(p) {
			return where(keyLine(data, key, 0), "%s %q must be an absolute path", key, p)
		}
	}
	if c.Defaults.SnapshotSize != "" && !sizeRE.MatchString(c.Defaults.SnapshotSize) {
		return where(keyLine(data, "snapshot_size", 0), "snapshot_size %q: use a size like 2G or a percentage like 20%%ORIGIN", c.Defaults.SnapshotSize)
	}
	if c.Defaults.Jobs < 0 {
		return where(keyLine(data, "jobs", 0), "jobs must not be negative")
	}
	if _, err := tags.Parse(c.Defaults.Tags); err != nil {
		return where(keyLine(data, "tags", 0), "defaults: tags: %v", err)
	}
	if c.Retention != nil {
		if _, err := c.Retention.policy(); err != nil {
			return where(tableLine(data, "[retention]", 0), "retention: %v", err)
		}
	}
	if key, err := c.validateHooks(); err != nil {
		return where(topKeyLine(data, key), "%v", err)
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
		if remote && v.Mode != repo.ModeBlocks {
			return where(line, "volume %d: %s: an s3: repo holds block-mode backups only: set mode = \"blocks\" (file trees need a POSIX file system: mount one and give its path)", i+1, v.Name)
		}
		if copyRemote && v.Mode != repo.ModeBlocks {
			return where(line, "volume %d: %s: copy_to is an s3: repository, which holds block-mode backups only: set mode = \"blocks\", or copy_to a mounted file system's path", i+1, v.Name)
		}
		if key, err := v.validateHooks(); err != nil {
			return where(volumeKeyLine(data, i, key), "volume %d: %s: %v", i+1, v.Name, err)
		}
		if seen[v.Name] {
			return where(line, "volume name %q is used twice", v.Name)
		}
		seen[v.Name] = true
	}
	return c.validateExcludes(data)
}

// validateCopyTo checks copy_to: empty, an absolute path or an s3: URL,
// and not repo; remote says it is an s3: URL.
func (c *Config) validateCopyTo() (remote bool, err error) {
	if c.CopyTo == "" {
		return false, nil
	}
	remote = repo.IsRemote(c.CopyTo)
	switch {
	case !remote && !filepath.IsAbs(c.CopyTo):
		return remote, errors.New("copy_to must be an absolute path or an s3: URL")
	case remote:
		if err := repo.CheckRemoteLocation(c.CopyTo); err != nil {
			return remote, fmt.Errorf("copy_to: %v", err)
		}
	}
	same := c.CopyTo == c.Repo
	if !remote && filepath.IsAbs(c.Repo) {
		same = filepath.Clean(c.CopyTo) == filepath.Clean(c.Repo)
	}
	if same {
		return remote, fmt.Errorf("copy_to %q is repo: copy_to names a second repository", c.CopyTo)
	}
	return remote, nil
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
	case "", repo.ModeFiles:
	case repo.ModeBlocks:
		if v.Btrfs != "" {
			return fmt.Errorf("%s: mode \"blocks\" needs lv or path (an image or device), not btrfs", v.Name)
		}
	default:
		return fmt.Errorf("%s: unknown mode %q (use files or blocks)", v.Name, v.Mode)
	}
	if v.FullRead && v.Mode != repo.ModeBlocks {
		return fmt.Errorf("%s: full_read applies to mode \"blocks\" only", v.Name)
	}
	if v.FullReadEvery != "" {
		if v.Mode != repo.ModeBlocks || v.LV == "" {
			return fmt.Errorf("%s: full_read_every applies to mode \"blocks\" of an lv only", v.Name)
		}
		if d, err := retention.ParseDuration(v.FullReadEvery); err != nil || d <= 0 {
			return fmt.Errorf("%s: full_read_every %q: use a duration like 30d or 12h", v.Name, v.FullReadEvery)
		}
	}
	if v.SnapshotSize != "" && !sizeRE.MatchString(v.SnapshotSize) {
		return fmt.Errorf("%s: snapshot_size %q: use a size like 2G or a percentage like 20%%ORIGIN", v.Name, v.SnapshotSize)
	}
	if v.Jobs < 0 {
		return fmt.Errorf("%s: jobs must not be negative", v.Name)
	}
	if _, err := tags.Parse(v.Tags); err != nil {
		return fmt.Errorf("%s: tags: %v", v.Name, err)
	}
	if v.Retention != nil {
		if _, err := v.Retention.policy(); err != nil {
			return fmt.Errorf("%s: retention: %v", v.Name, err)
		}
	}
	return nil
}

// validateHooks checks the global hooks and hook_timeout; the error's key
// names the offending one.
func (c *Config) validateHooks() (key string, err error) {
	if _, err := parseTimeout(c.HookTimeout); err != nil {
		return "hook_timeout", err
	}
	for _, h := range []struct{ key, cmd string }{
		{"before_snapshot", c.BeforeSnapshot}, {"after_snapshot", c.AfterSnapshot},
		{"on_success", c.OnSuccess}, {"on_failure", c.OnFailure},
	} {
		if err := checkCommand(h.key, h.cmd); err != nil {
			return h.key, err
		}
	}
	return "", nil
}

// validateHooks checks a volume's own snapshot hooks and hook_timeout.
func (v *Volume) validateHooks() (key string, err error) {
	if _, err := parseTimeout(v.HookTimeout); err != nil {
		return "hook_timeout", err
	}
	for _, h := range []struct {
		key string
		cmd *string
	}{{"before_snapshot", v.BeforeSnapshot}, {"after_snapshot", v.AfterSnapshot}} {
		if h.cmd == nil {
			continue
		}
		if v.Path != "" {
			return h.key, fmt.Errorf("%s needs lv or btrfs: a path volume takes no snapshot", h.key)
		}
		if *h.cmd != "" {
			if err := checkCommand(h.key, *h.cmd); err != nil {
				return h.key, err
			}
		}
	}
	return "", nil
}

// checkCommand refuses a hook command that is set but holds no program
// (blanks only) or a NUL byte, which no exec can pass.
func checkCommand(key, cmd string) error {
	switch {
	case cmd == "":
		return nil
	case strings.TrimSpace(cmd) == "":
		return fmt.Errorf("%s is blank: leave it out or name a command", key)
	case strings.ContainsRune(cmd, 0):
		return fmt.Errorf("%s holds a NUL byte", key)
	}
	return nil
}

// parseTimeout parses a hook_timeout: a positive Go duration ("30s",
// "5m", "1h30m"); "" is 0, the default.
func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("hook_timeout %q: use a positive duration like 30s or 5m", s)
	}
	return d, nil
}

// topKeyLine returns the line of key's assignment before the first table
// header, or 1.
func topKeyLine(data []byte, key string) int {
	re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(key) + `\s*=`)
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "[") {
			break
		}
		if re.MatchString(l) {
			return i + 1
		}
	}
	return 1
}

// volumeKeyLine returns the line of key's assignment in the n-th
// [[volume]] table, or that table's header line.
func volumeKeyLine(data []byte, n int, key string) int {
	start := tableLine(data, "[[volume]]", n)
	re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(key) + `\s*=`)
	lines := strings.Split(string(data), "\n")
	for i := start; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "[[") || (strings.HasPrefix(l, "[") && !strings.HasPrefix(l, "[volume.")) {
			break
		}
		if re.MatchString(lines[i]) {
			return i + 1
		}
	}
	return start
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
