package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// diff of two block backups compares their indexes chunk by chunk; a
// block and a file backup cannot be compared: a usage error (exit 2), not
// a missing manifest.
func TestDiffBlockBackups(t *testing.T) {
	base := t.TempDir()
	repoPath := filepath.Join(base, "repo")
	if code, _, e := run(t, "init", "--repo", repoPath, "--chunk-size", "64K"); code != exitOK {
		t.Fatal(e)
	}
	img, src := filepath.Join(base, "disk.img"), filepath.Join(base, "src")
	data := make([]byte, 1<<20) // 16 chunks of 64 KiB
	for i := range data {
		data[i] = byte(i * 7)
	}
	write := func() {
		if err := os.WriteFile(img, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	backup := func(args ...string) {
		t.Helper()
		if code, _, e := run(t, append([]string{"backup", "--repo", repoPath, "--name", "vm"}, args...)...); code != exitOK {
			t.Fatal(e)
		}
	}
	write()
	backup("--mode", "blocks", "--source", img)
	backup("--mode", "blocks", "--source", img)
	data[0], data[5<<16] = ^data[0], ^data[5<<16] // two chunks change
	write()
	backup("--mode", "blocks", "--source", img)
	items := listIDs(t, repoPath)

	if code, out, e := run(t, "diff", "--repo", repoPath, "--name", "vm", items[0], items[1]); code != exitOK || out != "" {
		t.Errorf("diff of equal images: exit %d, %q, %s; want exit 0, no output", code, out, e)
	}
	code, out, e := run(t, "diff", "--repo", repoPath, "--name", "vm", items[1], items[2])
	if want := "M image (2 of 16 chunks differ, 128.0 KiB)\n"; code != exitOK || out != want {
		t.Errorf("diff: exit %d, %q, %s; want %q", code, out, e, want)
	}
	code, out, _ = run(t, "diff", "--repo", repoPath, "--name", "vm", "--json", items[0], "latest")
	var changes []diffItem
	if err := json.Unmarshal([]byte(out), &changes); code != exitOK || err != nil || len(changes) != 1 || changes[0].Path != "image" {
		t.Errorf("diff --json: exit %d, %v, %s", code, err, out)
	}

	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	backup("--source", src) // a file backup of the same name
	code, out, e = run(t, "diff", "--repo", repoPath, "--name", "vm", items[2], "latest")
	if code != exitUsage || out != "" || !strings.Contains(e, "two file trees or two block images") || strings.Contains(e, "manifest") {
		t.Errorf("diff of a block and a file backup: exit %d, %q, %s; want exit %d and why", code, out, e, exitUsage)
	}
}

func listIDs(t *testing.T, repoPath string) []string {
	t.Helper()
	_, out, _ := run(t, "list", "--repo", repoPath, "--json")
	var items []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}
