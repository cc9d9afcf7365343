package main

import "testing"

func TestParseResticVersion(t *testing.T) {
	for _, c := range []struct {
		name         string
		out          string
		major, minor int
		version      string
		wantErr      bool
	}{
		{name: "release", out: "restic 0.18.1 compiled with go1.26.8 on linux/amd64\n", minor: 18, version: "0.18.1"},
		{name: "Debian's", out: "restic 0.14.0 compiled with go1.19.8 on linux/amd64", minor: 14, version: "0.14.0"},
		{name: "dev build", out: "restic 0.18.1-dev (compiled manually) compiled with go1.24.2 on linux/amd64", minor: 18, version: "0.18.1"},
		{name: "a 1.x", out: "restic 1.2.3 compiled with go1.30 on linux/arm64", major: 1, minor: 2, version: "1.2.3"},
		{name: "no version", out: "restic compiled with go1.26", wantErr: true},
		{name: "another program", out: "rustic 0.18.1", wantErr: true},
		{name: "empty", out: "", wantErr: true},
		{name: "overflow", out: "restic 0.99999999999999999999.1 compiled", wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			major, minor, version, err := parseResticVersion(c.out)
			if c.wantErr {
				if err == nil {
					t.Errorf("parseResticVersion(%q) = %d, %d, %q; want an error", c.out, major, minor, version)
				}
				return
			}
			if err != nil || major != c.major || minor != c.minor || version != c.version {
				t.Errorf("parseResticVersion(%q) = %d, %d, %q, %v; want %d, %d, %q", c.out, major, minor, version, err, c.major, c.minor, c.version)
			}
		})
	}
}
