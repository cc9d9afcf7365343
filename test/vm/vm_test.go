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

// TestThinDelta backs up a thin LV in block mode again and again: a full
// first read, then incrementals after known writes, writes across chunk
// boundaries, a discard, an lvextend (a full read) and no change, each
// checked against a copy of the LV and against the bytes read from the
// pool's data device; lvback killed in thin_delta, lvrename and lvremove,
// then cleanup and a good backup; cleanup --kept; a classic LV keeps no
// snapshot (scenarios/thin-delta.sh).
func TestThinDelta(t *testing.T) {
	runScenario(t, "scenarios/thin-delta.sh", "1G", "512M")
}

// TestBenchThin runs bench/vm-thin.sh on a small thin LV (SIZE_MIB=256) to
// keep the benchmark's scenario working; it measures nothing worth keeping.
// LVBACK_VM_BENCH=1 too, as it takes minutes.
func TestBenchThin(t *testing.T) {
	if os.Getenv("LVBACK_VM_BENCH") != "1" {
		t.Skip("set LVBACK_VM=1 LVBACK_VM_BENCH=1 to run bench/vm-thin.sh on a 256 MiB thin LV")
	}
	runCommand(t, []string{"SIZE_MIB=256"}, "../../bench/vm-thin.sh")
}

// runScenario runs run.sh SCENARIO DISKS..., logging the VM console line by line.
func runScenario(t *testing.T, scenario string, disks ...string) {
	t.Helper()
	runCommand(t, nil, "./run.sh", append([]string{scenario}, disks...)...)
}

// runCommand runs a command that boots the VM (run.sh or a script calling
// it) with env added, logging its output line by line.
func runCommand(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	if os.Getenv("LVBACK_VM") != "1" {
		t.Skip(skipMessage)
	}
	out := &lineLogger{t: t}
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	if os.Getenv("LVBACK_VM_TIMEOUT") == "" {
		// lvm-basic.sh takes ~5 min under emulation on 2 busy cores; leave room.
		cmd.Env = append(cmd.Env, "LVBACK_VM_TIMEOUT=900")
	}
	err := cmd.Run()
	out.flush()
	if strings.Contains(out.all.String(), "LVBACK_VM_OPTIONAL=1, skipping") {
		t.Skip("run.sh could not boot the VM and LVBACK_VM_OPTIONAL=1 (see the log above)")
	}
	if err != nil {
		t.Fatalf("%s %s: %v (the VM console is logged above)", name, strings.Join(args, " "), err)
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
