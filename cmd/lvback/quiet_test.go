package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `-q run` of a clean run prints nothing at all, so cron mails nothing; a
// failure still prints the summary and the error.
func TestQuietRunPrintsNothingOnSuccess(t *testing.T) {
	base := t.TempDir()
	initRepo(t, filepath.Join(base, "repo"))
	mkTree(t, filepath.Join(base, "etc"), "hosts", "fstab")
	cfg := writeConfig(t, base, `repo = "`+base+`/repo"
[retention]
keep_last = 1
[[volume]]
name = "etc"
path = "`+base+`/etc"
`)
	for i := 0; i < 2; i++ { // the second run also prunes
		if code, out, stderr := run(t, "-q", "run", "--config", cfg); code != exitOK || out != "" || stderr != "" {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q; want silence", i, code, out, stderr)
		}
	}
	os.RemoveAll(filepath.Join(base, "etc"))
	code, out, stderr := run(t, "-q", "run", "--config", cfg)
	if code != exitFailed || !strings.Contains(out, "FAILED") || !strings.Contains(stderr, "etc") {
		t.Fatalf("failing run: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

// With --log-format json every line on stderr is a JSON object, the final
// error included.
func TestJSONLogFormatCoversTheFinalError(t *testing.T) {
	base := t.TempDir()
	cfg := writeConfig(t, base, `repo = "`+base+`/repo"
[[volume]]
name = "gone"
path = "`+base+`/does-not-exist"
`)
	for _, args := range [][]string{
		{"--log-format", "json", "run", "--config", cfg},
		{"--log-format", "json", "-q", "run", "--config", cfg},
		{"--log-format", "json", "restore", "--repo", base + "/repo", "--name", "nothing", "--target", base + "/t"},
	} {
		code, _, stderr := run(t, args...)
		if code == exitOK || stderr == "" {
			t.Fatalf("%v: exit %d, stderr %q; want a failure", args, code, stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil || m["level"] != "ERROR" && m["level"] != "WARN" {
				t.Errorf("%v: stderr line is not a JSON log record: %q", args, line)
			}
		}
	}
}
