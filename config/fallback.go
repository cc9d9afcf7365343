package config

import (
	"bytes"
	"os"
	"path/filepath"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/lvback/lvback/repo"
)

// Fallback is what `run` can still use of a configuration that Load
// refused, to report the failure the way the operator asked: the failure
// hook, its timeout, the metrics file and the repository. Each field is
// set only when its own value is valid.
type Fallback struct {
	Repo        string
	OnFailure   string
	HookTimeout time.Duration // 0: the default
	MetricsFile string
}

// FailureFallback reads what it can of the configuration file at path
// after Load refused it. It tolerates unknown keys and invalid volumes, but
// returns the zero Fallback (nothing to run) when the file cannot be read,
// is not TOML, or is not safe to take a command from (writable by group or
// others, or owned by another user: like Load, it never trusts such a
// file's on_failure).
func FailureFallback(path string) Fallback {
	data, err := os.ReadFile(path)
	if err != nil || checkOwnership(path) != nil {
		return Fallback{}
	}
	var top struct {
		Repo        string `toml:"repo"`
		OnFailure   string `toml:"on_failure"`
		HookTimeout string `toml:"hook_timeout"`
		MetricsFile string `toml:"metrics_file"`
	}
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&top); err != nil {
		// go-toml stops at the first error of syntax or type; nothing it
		// decoded up to there is trusted.
		return Fallback{}
	}
	var f Fallback
	if filepath.IsAbs(top.Repo) || repo.IsRemote(top.Repo) {
		f.Repo = top.Repo
	}
	if checkCommand("on_failure", top.OnFailure) == nil {
		f.OnFailure = top.OnFailure
	}
	if d, err := parseTimeout(top.HookTimeout); err == nil {
		f.HookTimeout = d
	}
	f.MetricsFile = top.MetricsFile
	return f
}
