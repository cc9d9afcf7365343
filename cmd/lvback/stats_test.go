package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stats: bad input is one line on stderr and exit 2 and changes nothing;
// the table and the JSON carry the documented rows and keys.
func TestStatsCommand(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("hello"), 0o644)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, _, stderr := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src); code != 0 {
		t.Fatal(stderr)
	}
	for _, args := range [][]string{
		{"stats"},
		{"stats", "--repo", repoPath, "--name", "nope"},
		{"stats", "--repo", repoPath, "--name", "-rf"},
		{"stats", "--repo", src},
		{"stats", "--repo", repoPath, "extra"},
	} {
		code, stdout, stderr := run(t, args...)
		if code != exitUsage || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "lvback: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line on stderr", args, code, stdout, stderr)
		}
	}
	code, out, stderr := run(t, "stats", "--repo", repoPath)
	if code != 0 || !strings.Contains(out, "volume v") || !strings.Contains(out, "repository "+repoPath) || !strings.Contains(out, "5 B") {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = run(t, "stats", "--repo", repoPath, "--name", "v", "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s%s", code, err, out, stderr)
	}
	vols, _ := rep["volumes"].([]any)
	if len(vols) != 1 {
		t.Fatalf("volumes: %s", out)
	}
	vol := vols[0].(map[string]any)
	for _, k := range []string{"name", "backups", "backups_count", "logical_bytes", "stored_bytes", "unique_bytes"} {
		if _, ok := vol[k]; !ok {
			t.Errorf("volume lacks %q: %s", k, out)
		}
	}
	row := vol["backups"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "time", "mode", "logical_bytes", "unique_bytes"} {
		if _, ok := row[k]; !ok {
			t.Errorf("backup row lacks %q: %s", k, out)
		}
	}
	if row["logical_bytes"].(float64) != 5 {
		t.Errorf("logical bytes %v, want 5", row["logical_bytes"])
	}
}
