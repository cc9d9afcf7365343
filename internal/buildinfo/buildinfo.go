// Package buildinfo owns what lvback says about its own build: version,
// commit and date, stamped by `make build` through the linker
// (-ldflags -X) or, for a plain `go build` or `go install`, read from the
// module and VCS information Go embeds (debug.ReadBuildInfo). It never
// runs git or reads a file.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by `make build` with -ldflags "-X github.com/lvback/lvback/internal/buildinfo.version=…"
// (and commit, date); empty when the binary was not stamped.
var (
	version string
	commit  string
	date    string
)

// Info describes one lvback binary. Version, Commit and Date are never
// empty: an unknown field reads "unknown" (Version "devel").
type Info struct {
	Version   string `json:"version"`    // e.g. 0.1.0~git20261127.abcdef0, valid as a Debian version
	Commit    string `json:"commit"`     // the full git commit hash
	Date      string `json:"date"`       // the commit's time (RFC 3339, UTC), or SOURCE_DATE_EPOCH's
	GoVersion string `json:"go_version"` // the Go toolchain that built it
	GoOS      string `json:"go_os"`
	GoArch    string `json:"go_arch"`
}

// Get returns the binary's Info: the linker-stamped fields, each missing
// one filled from debug.ReadBuildInfo.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(stamp{version, commit, date}, bi)
}

// stamp holds the linker-stamped fields.
type stamp struct{ version, commit, date string }

// resolve prefers s and falls back to bi (which may be nil) field by field.
func resolve(s stamp, bi *debug.BuildInfo) Info {
	fb := fromBuildInfo(bi)
	info := Info{Version: first(s.version, fb.Version, "devel"), Commit: first(s.commit, fb.Commit, "unknown"),
		Date: first(s.date, fb.Date, "unknown"), GoVersion: runtime.Version(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH}
	if bi != nil && bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	return info
}

// fromBuildInfo reads the main module's version ("v" dropped; Go leaves
// "(devel)" when it knows none) and the vcs.revision and vcs.time
// settings; a revision built from a modified tree gets "-dirty".
func fromBuildInfo(bi *debug.BuildInfo) Info {
	var info Info
	if bi == nil {
		return info
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		info.Version = strings.TrimPrefix(v, "v")
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.Date = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && info.Commit != "" {
		info.Commit += "-dirty"
	}
	return info
}

// first returns the first non-empty string.
func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// String is the one line `lvback --version` prints:
// "lvback VERSION (commit C, date D, GOVERSION GOOS/GOARCH)".
func (i Info) String() string {
	return "lvback " + i.Version + " (commit " + i.Commit + ", date " + i.Date + ", " +
		i.GoVersion + " " + i.GoOS + "/" + i.GoArch + ")"
}
