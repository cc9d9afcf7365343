package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/repo"
)

// A writable loop device as a block-mode --source: backed up with a
// warning on stdout and stderr (exit 0); with --require-snapshot refused
// up front (exit 2, nothing written). A read-only loop device passes
// silently, also with --require-snapshot. `run` takes require_snapshot
// from [defaults], and a volume's own key overrides it.
func TestLiveDeviceCLI(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: needs loop devices")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("losetup not installed")
	}
	base := t.TempDir()
	img := filepath.Join(base, "disk.img")
	if err := os.WriteFile(img, []byte(strings.Repeat("guest disk ", 1<<17)[:1<<20]), 0o600); err != nil {
		t.Fatal(err)
	}
	rw, ro := testsys.AttachLoop(t, img), testsys.AttachLoop(t, img, "-r")
	const warning = "is a block device that is not a snapshot lvback made: if it is in use, the image may be inconsistent; use --lv to snapshot it"
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	backup := func(name, src string, extra ...string) (int, string, string) {
		return run(t, append([]string{"backup", "--repo", repoPath, "--name", name, "--mode", "blocks", "--source", src}, extra...)...)
	}
	code, stdout, stderr := backup("refused", rw, "--require-snapshot")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, rw+" is a writable block device, not a snapshot lvback made") {
		t.Errorf("--require-snapshot, writable device: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if bs := backups(t, repoPath, "refused"); len(bs) != 0 {
		t.Errorf("refused backup left %+v", bs)
	}
	code, stdout, stderr = backup("warned", rw)
	if code != exitOK || !strings.Contains(stdout, "warning: "+rw+" "+warning) || !strings.Contains(stderr, warning) {
		t.Errorf("writable device: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if bs := backups(t, repoPath, "warned"); len(bs) != 1 || !strings.Contains(bs[0].Info.SourceWarning, warning) {
		t.Errorf("writable device: backups %+v, want one with the warning", bs)
	}
	code, stdout, stderr = backup("readonly", ro, "--require-snapshot")
	if code != exitOK || strings.Contains(stdout+stderr, "warning") || strings.Contains(stderr, "WARN") {
		t.Errorf("read-only device: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	cfg := writeConfig(t, base, `repo = "`+repoPath+`"
[defaults]
require_snapshot = true
[[volume]]
name = "strict"
mode = "blocks"
path = "`+rw+`"
[[volume]]
name = "lenient"
mode = "blocks"
path = "`+rw+`"
require_snapshot = false
`)
	code, stdout, stderr = run(t, "-q", "run", "--config", cfg)
	if code != exitFailed || !strings.Contains(stdout, "warning lenient: "+rw+" "+warning) {
		t.Errorf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = run(t, "run", "--json", "--config", cfg)
	var sum runSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || code != exitFailed || len(sum.Volumes) != 2 {
		t.Fatalf("run --json: exit %d, %v: %s", code, err, stdout)
	}
	strict, lenient := sum.Volumes[0], sum.Volumes[1]
	if strict.OK || !strings.Contains(strict.Error, "not a snapshot lvback made") || !lenient.OK || !strings.Contains(lenient.Warning, warning) {
		t.Errorf("run --json volumes: %+v", sum.Volumes)
	}
	if bs := backups(t, repoPath, "strict"); len(bs) != 0 {
		t.Errorf("refused volume left %+v", bs)
	}
}

// backups lists name's backups in the repository, complete or not.
func backups(t *testing.T, repoPath, name string) []repo.Backup {
	t.Helper()
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := r.Backups(name)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}
