package main

import (
	"strings"
	"testing"
)

// TestContribConfigDryRun checks that the example config the package
// ships gets past parsing: run --dry-run prints its plan.
func TestContribConfigDryRun(t *testing.T) {
	code, out, errOut := run(t, "run", "--config", "../../contrib/lvback.toml", "--dry-run")
	if code != exitOK || !strings.Contains(out, "volume vm-web-disk: lv /dev/vg0/vm-web-disk") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
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
