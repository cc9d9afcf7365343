package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
)

// init fixes the block chunk size; block backups in that repository use
// it; bad sizes and an existing repository are refused.
func TestInitChunkSize(t *testing.T) {
	base := t.TempDir()
	repoPath := filepath.Join(base, "repo")
	if code, out, e := run(t, "init", "--repo", repoPath, "--chunk-size", "1M"); code != 0 || !strings.Contains(out, "1.0 MiB") {
		t.Fatalf("init: exit %d: %s %s", code, out, e)
	}
	if fi, err := os.Stat(repoPath); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("repository mode: %v %v", fi.Mode(), err)
	}
	img := filepath.Join(base, "disk.img")
	data := make([]byte, 5<<20)
	for i := range data {
		data[i] = byte(i / 4096)
	}
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img); code != 0 {
		t.Fatal(e)
	}
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Latest("vm")
	if err != nil || b == nil {
		t.Fatal(b, err)
	}
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil || idx.ChunkSize != 1<<20 || idx.Len() != 5 {
		t.Fatalf("index: %v, chunk size %d, %d entries; want 1 MiB chunks", err, idx.ChunkSize, idx.Len())
	}
	if code, _, e := run(t, "init", "--repo", repoPath); code != exitUsage || !strings.Contains(e, "already") {
		t.Errorf("init of an existing repository: exit %d %s", code, e)
	}
	for _, size := range []string{"2000000", "32K", "128M", "1x", "-2M", ""} {
		p := filepath.Join(base, "r"+size)
		if code, _, e := run(t, "init", "--repo", p, "--chunk-size", size); size != "" && code != exitUsage {
			t.Errorf("--chunk-size %q: exit %d %s", size, code, e)
		}
		if _, err := os.Stat(p); size != "" && err == nil {
			t.Errorf("--chunk-size %q created %s", size, p)
		}
	}
}

func TestParseBinarySize(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "64K": 64 << 10, "2M": 2 << 20, "2MiB": 2 << 20, "4m": 4 << 20, "1G": 1 << 30, "1GB": 1 << 30} {
		if got, err := parseBinarySize(in); err != nil || got != want {
			t.Errorf("parseBinarySize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "0", "-1M", "1.5M", "2T", "99999999999G", "2 M"} {
		if got, err := parseBinarySize(in); err == nil {
			t.Errorf("parseBinarySize(%q) = %d, want an error", in, got)
		}
	}
}
