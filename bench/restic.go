package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/lvback/lvback/internal/weed"
)

// resticVersion is the restic the s3 cases compare with, as
// scripts/build-restic.sh builds it into the cache (restic-VERSION). Any
// 0.18.x is accepted: restic's release notes list no change to backup,
// chunking or the s3 backend within it. Debian's 0.14 has no
// --no-scan and an older repository format, and the module proxy's
// @latest is 0.10.0 (shared/notes/peers.md).
const (
	resticVersion = "0.18.1"
	resticMajor   = 0
	resticMinor   = 18
)

// findRestic returns the restic binary to compare with and its version:
// $LVBACK_CACHE/restic-0.18.1 (scripts/build-restic.sh), else restic in
// PATH. It fails, saying how to get the right one, when neither is there
// or the one found is no 0.18.x.
func findRestic(ctx context.Context) (path, version string, err error) {
	path = filepath.Join(weed.Cache(), "restic-"+resticVersion)
	if !weed.IsExecutable(path) {
		if path, err = exec.LookPath("restic"); err != nil {
			return "", "", fmt.Errorf("no restic (neither %s nor restic in PATH); scripts/build-restic.sh (make restic) builds %s", filepath.Join(weed.Cache(), "restic-"+resticVersion), resticVersion)
		}
	}
	out, err := output(ctx, path, "version")
	if err != nil {
		return "", "", err
	}
	major, minor, version, err := parseResticVersion(out)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	if major != resticMajor || minor != resticMinor {
		return "", "", fmt.Errorf("%s is restic %s, not %d.%d.x; scripts/build-restic.sh (make restic) builds %s", path, version, resticMajor, resticMinor, resticVersion)
	}
	return path, version, nil
}

// resticVersionRE matches the start of `restic version`'s output,
// "restic 0.18.1 compiled with go1.26.8 on linux/amd64"; a build from a
// source tree says "restic 0.18.1-dev (compiled manually) ...".
var resticVersionRE = regexp.MustCompile(`^restic (([0-9]+)\.([0-9]+)\.[0-9]+)\S*`)

// parseResticVersion returns the major and minor version and the version
// string (e.g. "0.18.1") from `restic version`'s output.
func parseResticVersion(out string) (major, minor int, version string, err error) {
	m := resticVersionRE.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, "", fmt.Errorf("unexpected restic version output %q", tail(out, 200))
	}
	major, err = strconv.Atoi(m[2])
	if err == nil {
		minor, err = strconv.Atoi(m[3])
	}
	if err != nil {
		return 0, 0, "", fmt.Errorf("restic version %q: %w", m[1], err)
	}
	return major, minor, m[1], nil
}
