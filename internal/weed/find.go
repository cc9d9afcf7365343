package weed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The environment variables Find reads.
const (
	// EnvWeed names the weed binary to run, overriding the lookup.
	EnvWeed = "LVBACK_WEED"
	// EnvCache is the directory scripts/build-weed.sh builds weed into
	// (default DefaultCache); Find looks for $EnvCache/weed.
	EnvCache = "LVBACK_CACHE"
)

// DefaultCache is where scripts/build-weed.sh (and build-restic.sh) put
// what they build when LVBACK_CACHE is unset.
const DefaultCache = "/var/cache/lvback-ci"

// ErrNotFound is wrapped by Find's error when there is no weed binary.
var ErrNotFound = errors.New("no SeaweedFS binary")

// Cache returns the directory the build scripts build into:
// $LVBACK_CACHE, else DefaultCache.
func Cache() string {
	if c := os.Getenv(EnvCache); c != "" {
		return c
	}
	return DefaultCache
}

// Find returns the weed binary: $LVBACK_WEED, else $LVBACK_CACHE/weed,
// else weed in PATH. Without one its error wraps ErrNotFound and says
// what was looked for and that `make weed` builds it; an LVBACK_WEED that
// names no executable file is an error that does not.
func Find() (string, error) {
	if p := os.Getenv(EnvWeed); p != "" {
		if !IsExecutable(p) {
			return "", fmt.Errorf("%s=%s is no executable file", EnvWeed, p)
		}
		return p, nil
	}
	cached := filepath.Join(Cache(), "weed")
	if IsExecutable(cached) {
		return cached, nil
	}
	if p, err := exec.LookPath("weed"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w (%s unset, no %s, no weed in PATH); `make weed` builds it (about 10 min, once per machine)", ErrNotFound, EnvWeed, cached)
}

// IsExecutable reports whether p is a regular file someone may execute.
func IsExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
