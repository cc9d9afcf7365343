package main

import (
	"strings"
	"testing"
)

// TestContribConfigDryRun checks that the example config the package
// ships parses and plans every volume: run --dry-run lists them all, and
// its only problems are that this machine has none of the example's
// sources and no repository at /mnt/backup (exit 2 for those).
func TestContribConfigDryRun(t *testing.T) {
	code, out, errOut := run(t, "run", "--config", "../../contrib/lvback.toml", "--dry-run")
	for _, v := range []string{"volume xen-disk0", "volume mail", "volume data", "volume vm-web-disk"} {
		if !strings.Contains(out, v+"\n") {
			t.Errorf("the plan has no %q", v)
		}
	}
	problems := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "PROBLEM:") {
			continue
		}
		problems++
		if !strings.Contains(line, "file does not exist") && !strings.Contains(line, "not an lvback repository") {
			t.Errorf("a problem that is not a missing source or repository: %s", line)
		}
	}
	if code != exitUsage || problems == 0 || !strings.Contains(errOut, "dry run found") {
		t.Fatalf("exit %d, %d problems, stdout %q, stderr %q", code, problems, out, errOut)
	}
}

// TestVersionCommand checks that version and --version print the same
// line and that version --json has every field.
func TestVersionCommand(t *testing.T) {
	_, line, _ := run(t, "--version")
	_, line2, _ := run(t, "version")
	if !strings.HasPrefix(line, "lvback ") || line != line2 {
		t.Errorf("--version %q, version %q", line, line2)
	}
	_, js, _ := run(t, "version", "--json")
	for _, f := range []string{`"version"`, `"commit"`, `"date"`, `"go_version"`, `"go_os"`, `"go_arch"`} {
		if !strings.Contains(js, f) {
			t.Errorf("version --json %s: no %s", js, f)
		}
	}
}
