package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261127183000-abcdef012345+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef0123456789"},
			{Key: "vcs.time", Value: "2026-11-27T18:30:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	devel := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}
	for _, tc := range []struct {
		name  string
		stamp stamp
		bi    *debug.BuildInfo
		want  Info
	}{
		{"stamped wins", stamp{"0.1.0~git20261127.abcdef0", "abcdef0123456789", "2026-11-27T18:30:00Z"}, devel,
			Info{Version: "0.1.0~git20261127.abcdef0", Commit: "abcdef0123456789", Date: "2026-11-27T18:30:00Z"}},
		{"build info fallback", stamp{}, vcs,
			Info{Version: "0.0.0-20261127183000-abcdef012345+dirty", Commit: "abcdef0123456789-dirty", Date: "2026-11-27T18:30:00Z"}},
		{"stamped version, vcs commit", stamp{version: "0.2.0"}, vcs,
			Info{Version: "0.2.0", Commit: "abcdef0123456789-dirty", Date: "2026-11-27T18:30:00Z"}},
		{"nothing known", stamp{}, devel, Info{Version: "devel", Commit: "unknown", Date: "unknown"}},
		{"no build info", stamp{}, nil, Info{Version: "devel", Commit: "unknown", Date: "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resolve(tc.stamp, tc.bi)
			if got.Version != tc.want.Version || got.Commit != tc.want.Commit || got.Date != tc.want.Date {
				t.Errorf("resolve = %+v, want version %q commit %q date %q", got, tc.want.Version, tc.want.Commit, tc.want.Date)
			}
			if got.GoVersion == "" || got.GoOS == "" || got.GoArch == "" {
				t.Errorf("resolve = %+v: Go fields empty", got)
			}
		})
	}
}
