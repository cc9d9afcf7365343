package weed

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Find prefers LVBACK_WEED, then the cache, then PATH; without any its
// error wraps ErrNotFound and names the cached path and make weed.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cache, path, empty := filepath.Join(dir, "cache"), filepath.Join(dir, "path"), filepath.Join(dir, "empty")
	cached, inPath, explicit := exe("cache/weed"), exe("path/weed"), exe("explicit/weed")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                   string
		envWeed, cache, path   string
		want                   string
		notFound, otherFailure bool
	}{
		{name: "explicit wins", envWeed: explicit, cache: cache, path: path, want: explicit},
		{name: "cache before PATH", cache: cache, path: path, want: cached},
		{name: "PATH", cache: empty, path: path, want: inPath},
		{name: "none", cache: empty, path: empty, notFound: true},
		{name: "explicit not executable", envWeed: plain, cache: cache, path: path, otherFailure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvWeed, tc.envWeed)
			t.Setenv(EnvCache, tc.cache)
			t.Setenv("PATH", tc.path)
			got, err := Find()
			switch {
			case tc.notFound:
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), filepath.Join(empty, "weed")) || !strings.Contains(err.Error(), "make weed") {
					t.Errorf("Find() = %q, %v; want ErrNotFound naming %s and make weed", got, err, filepath.Join(empty, "weed"))
				}
			case tc.otherFailure:
				if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), EnvWeed) {
					t.Errorf("Find() = %q, %v; want an error naming %s that is not ErrNotFound", got, err, EnvWeed)
				}
			case err != nil || got != tc.want:
				t.Errorf("Find() = %q, %v; want %s", got, err, tc.want)
			}
		})
	}
}
