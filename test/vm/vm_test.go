// Package vm boots a throw-away qemu VM with real LVM (device-mapper is not in
// the build machines' kernel) and runs lvback's scenario scripts in it through
// run.sh. The tests skip unless LVBACK_VM=1, so `go test ./...` stays fast;
// `make test-vm` runs them.
package vm

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// skipMessage names what the VM tests need; run.sh installs it as root.
const skipMessage = "set LVBACK_VM=1 to boot a qemu VM with real LVM (needs qemu-system-x86, linux-image-amd64, lvm2 …)"

// TestRawLVM checks the harness itself with plain LVM commands, no lvback:
// when it fails, the VM is broken, not lvback.
func TestRawLVM(t *testing.T) {
	runScenario(t, "scenarios/raw-lvm.sh", "1G")
}

// TestRealLVM backs up ext4, XFS and thin LVs through real snapshots and
// checks interruption, overflow, a full VG and cleanup (scenarios/lvm-basic.sh).
func TestRealLVM(t *testing.T) {
	runScenario(t, "scenarios/lvm-basic.sh", "2G", "2G")
}

// TestCronHooks runs `lvback run` under cron's environment with
// before/after_snapshot, on_success and on_failure hooks that live only in
// /usr/sbin, over ext4 and XFS LVs with ACLs and xattrs; then a failing
// hook, a held repository lock and a frozen origin
// (scenarios/cron-hooks.sh).
func TestCronHooks(t *testing.T) {
	runScenario(t, "scenarios/cron-hooks.sh", "1G", "1G")
}

// TestRestoreHeldDisk restores a block backup onto a whole disk whose
// partitions are in use (an LVM PV with an active LV, a mounted ext4, a
// loop device's backing partition): each is refused naming the partition
// and leaves the disk unchanged; a restore onto a free whole disk writes
// the image (scenarios/restore-held-disk.sh).
func TestRestoreHeldDisk(t *testing.T) {
	runScenario(t, "scenarios/restore-held-disk.sh", "256M", "64M")
}

// runScenario runs run.sh SCENARIO DISKS..., logging the VM console line by line.
func runScenario(t *testing.T, scenario string, disks ...string) {
	t.Helper()
	if os.Getenv("LVBACK_VM") != "1" {
		t.Skip(skipMessage)
	}
	out := &lineLogger{t: t}
	cmd := exec.CommandContext(t.Context(), "./run.sh", append([]string{scenario}, disks...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if os.Getenv("LVBACK_VM_TIMEOUT") == "" {
		// lvm-basic.sh takes ~5 min under emulation on 2 busy cores; leave room.
		cmd.Env = append(os.Environ(), "LVBACK_VM_TIMEOUT=900")
	}
	err := cmd.Run()
	out.flush()
	if strings.Contains(out.all.String(), "LVBACK_VM_OPTIONAL=1, skipping") {
		t.Skip("run.sh could not boot the VM and LVBACK_VM_OPTIONAL=1 (see the log above)")
	}
	if err != nil {
		t.Fatalf("run.sh %s: %v (the VM console is logged above)", scenario, err)
	}
}

// terminalControl matches the escape sequences the VM's BIOS prints.
var terminalControl = regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]|\x1bc|\r`)

// lineLogger is an io.Writer that passes each complete line to t.Log and keeps
// everything written. Write may be called from several goroutines.
type lineLogger struct {
	t       *testing.T
	mu      sync.Mutex // guards partial and all
	partial []byte
	all     bytes.Buffer
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.log(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
}

// flush logs a last line that had no newline.
func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.log(l.partial)
		l.partial = nil
	}
}

func (l *lineLogger) log(line []byte) {
	if s := terminalControl.ReplaceAllString(string(line), ""); strings.TrimSpace(s) != "" {
		l.t.Log(s)
	}
}
