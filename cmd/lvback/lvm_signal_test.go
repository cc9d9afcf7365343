package main

import (
	"encoding/json"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/internal/testsys"
)

// stage is a point of a snapshot's life at which a test signals lvback.
type stage struct {
	name string
	// fault is a fake's fault-injection file that holds lvback at the
	// stage (a sleep in milliseconds), or "".
	fault, content string
	// reached reports that lvback is at the stage.
	reached func(e *lvmEnv) bool
}

// stages are the points of TestLVMSIGTERM.
var stages = []stage{
	// lvcreate made the volume and still runs: lvback waits for it (it
	// never kills a command changing LVM metadata), then removes it.
	{"after create", state.SleepAfterLvcreate, "1000", func(e *lvmEnv) bool { return e.snapshotLV() != "" }},
	// The snapshot is mounted; mount(8) may not have exited yet.
	{"after mount", "", "", func(e *lvmEnv) bool { return len(e.snapshotMounts()) > 0 }},
	{"mid-copy", "", "", func(e *lvmEnv) bool { return e.partialFiles("data") >= 2 }},
	// The backup is complete and the snapshot unmounted; lvremove runs.
	{"after unmount", state.SleepInLvremove, "1000", func(e *lvmEnv) bool {
		c := e.calls("lvcreate", "lvremove") // an lvremove after lvcreate: not a leftover's
		return len(c) >= 2 && strings.HasPrefix(c[len(c)-2], "lvcreate ") && strings.HasPrefix(c[len(c)-1], "lvremove ") &&
			len(e.snapshotMounts()) == 0 && e.snapshotLV() != ""
	}},
}

// TestLVMSIGTERM sends SIGTERM to `lvback backup --lv` and `lvback run` at
// each stage of the snapshot's life. Whatever the stage, no snapshot
// volume, mount, repository lock or partial backup is left. Up to the
// unmount the backup is abandoned (exit 4, no complete backup); once the
// snapshot is unmounted the backup is already complete and stays so:
// `backup` then exits 0 (nothing was interrupted), `run` exits 4 (it
// stops before the next volume and skips retention).
func TestLVMSIGTERM(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 128<<20, bigTree())
	for _, st := range stages {
		for _, command := range []string{"backup", "run"} {
			t.Run(st.name+"/"+command, func(t *testing.T) { sigterm(e.sub(t), st, command) })
		}
	}
}

// sigterm runs command (backup or run) over the volume data, sends it
// SIGTERM at st and checks what is left.
func sigterm(e *lvmEnv, st stage, command string) {
	t := e.t
	args := []string{"backup", "--repo", e.repo, "--name", "data", "--lv", lv("data"), "--snapshot-size", "1G", "--jobs", "1"}
	if command == "run" {
		args = []string{"run", "--json", "--config", e.config("[defaults]\njobs = 1\nsnapshot_size = \"1G\"\n[[volume]]\nname = \"data\"\nlv = \"" + lv("data") + "\"\n")}
	}
	if st.fault != "" {
		e.vg.Fault(st.fault, st.content)
		defer e.vg.Fault(st.fault, "")
	}
	p := e.start(args...)
	p.waitFor(t, st.name, func() bool { return st.reached(e) })
	p.signal(t, syscall.SIGTERM)
	code := p.wait(t)
	t.Logf("exit %d; stderr:\n%s", code, p.stderr.String())

	complete := st.name == "after unmount"
	wantCode, wantBackups := exitAborted, 0
	if complete {
		wantBackups = 1
		if command == "backup" {
			wantCode = exitOK
		}
	}
	if code != wantCode {
		t.Errorf("exit %d, want %d", code, wantCode)
	}
	if n := len(e.backups("data")); n != wantBackups {
		t.Errorf("%d complete backups, want %d", n, wantBackups)
	}
	if code == exitAborted && command == "backup" && strings.Count(p.stderr.String(), "\n") != 1 {
		t.Errorf("stderr is not one line")
	}
	removed := e.calls("lvremove")
	if len(removed) != 1 || !strings.HasPrefix(removed[0], "lvremove -f "+testVG+"/data-lvback-") {
		t.Errorf("lvremove calls %q, want one of the snapshot", removed)
	}
	e.assertNoLeftovers(testVG + "/data")
	e.assertUnlocked()
	if command != "run" {
		return
	}
	var sum runSummary
	if err := json.Unmarshal(p.stdout.Bytes(), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, p.stdout.Bytes())
	}
	if sum.OK || len(sum.Volumes) != 1 || sum.Volumes[0].OK != complete {
		t.Errorf("summary %+v, want not ok, volume ok %v", sum, complete)
	}
	t.Run("summary says interrupted", func(t *testing.T) {
		if !sum.Interrupted {
			t.Errorf("summary %s lacks \"interrupted\": true", p.stdout.Bytes())
		}
	})
}

// TestLVMCtrlC sends SIGINT to lvback's process group, as Ctrl-C in a
// terminal does, while lvback waits for lvcreate or lvremove; the fake tool
// dies of it at once. Nothing may be left either way: after create the
// backup is abandoned (exit 4), after unmount it is complete (exit 0).
func TestLVMCtrlC(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 64<<20, smallTree("data"))
	for _, st := range []stage{stages[0], stages[3]} {
		t.Run(st.name, func(t *testing.T) {
			e := e.sub(t)
			e.vg.Fault(st.fault, st.content)
			defer e.vg.Fault(st.fault, "")
			p := e.startGroup("backup", "--repo", e.repo, "--name", "data", "--lv", lv("data"), "--snapshot-size", "1G")
			p.waitFor(t, st.name, func() bool { return st.reached(e) })
			if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT); err != nil { // the group
				t.Fatal(err)
			}
			code := p.wait(t)
			t.Logf("exit %d; stderr:\n%s", code, p.stderr.String())
			wantCode, wantBackups := exitAborted, 0
			if st.name == "after unmount" {
				// The backup is complete; the killed lvremove is retried
				// after a second.
				wantCode, wantBackups = exitOK, 1
			}
			if n := len(e.backups("data")); code != wantCode || n != wantBackups {
				t.Errorf("exit %d, %d complete backups; want %d and %d", code, n, wantCode, wantBackups)
			}
			e.assertNoLeftovers(testVG + "/data")
		})
	}
}

// TestLVMSIGKILLThenCleanup kills `lvback backup --lv` mid-copy, among a
// volume tagged lvback with another name, a snapshot-named volume without
// the tag and a mount outside the run directory: `lvback cleanup` removes
// the killed run's mount, mount directory and snapshot volume and nothing
// else; the next backup removes its partial backup.
func TestLVMSIGKILLThenCleanup(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 128<<20, bigTree())
	foreign := []string{testVG + "/data-snap", testVG + "/data-lvback-20200101T000000"}
	e.vg.Add(state.LV{VG: testVG, Name: "data-snap", Tags: []string{"lvback"}, Attr: "swi-a-s---", Segtype: "linear", Origin: "data"})
	e.vg.Add(state.LV{VG: testVG, Name: "data-lvback-20200101T000000", Tags: []string{"nightly"}, Attr: "swi-a-s---", Segtype: "linear", Origin: "data"})
	foreignMount := t.TempDir()
	testsys.Run(t, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", foreignMount)
	defer testsys.Run(t, "umount", foreignMount)

	snap, mnt := e.killMidCopy("backup", "--repo", e.repo, "--name", "data", "--lv", lv("data"), "--snapshot-size", "1G", "--jobs", "1")
	code, stdout, stderr := e.lvback("cleanup")
	if code != exitOK {
		t.Fatalf("cleanup: exit %d: %s", code, stderr)
	}
	want := "unmounted " + mnt + "\nremoved directory " + mnt + "\nremoved logical volume " + testVG + "/" + snap + "\n"
	if stdout != want {
		t.Errorf("cleanup printed\n%s\nwant\n%s", stdout, want)
	}
	if got := e.calls("lvremove"); !slices.Equal(got, []string{"lvremove -f " + testVG + "/" + snap}) {
		t.Errorf("lvremove calls %q", got)
	}
	if !slices.Contains(testsys.MountsUnder(t, foreignMount), foreignMount) {
		t.Error("cleanup unmounted a foreign mount")
	}
	if len(e.partials("data")) != 1 {
		t.Error("the killed run's partial backup is gone before the next backup")
	}
	// The next backup removes the partial backup.
	src := t.TempDir()
	mkTree(t, src, "f")
	if code, _, stderr := e.lvback("backup", "--repo", e.repo, "--name", "data", "--source", src); code != exitOK {
		t.Fatalf("backup after cleanup: exit %d: %s", code, stderr)
	}
	e.assertNoLeftovers(slices.Concat([]string{testVG + "/data"}, foreign)...)
}

// TestLVMSIGKILLThenRun kills `lvback run` mid-copy; the next run removes
// the leftovers (and only them) and the partial backup, and succeeds.
func TestLVMSIGKILLThenRun(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 128<<20, bigTree())
	e.vg.Add(state.LV{VG: testVG, Name: "data-snap", Tags: []string{"lvback"}, Attr: "swi-a-s---", Segtype: "linear", Origin: "data"})
	cfg := e.config("[defaults]\njobs = 1\nsnapshot_size = \"1G\"\n[[volume]]\nname = \"data\"\nlv = \"" + lv("data") + "\"\n")

	snap, mnt := e.killMidCopy("run", "--config", cfg)
	partial := e.partials("data")
	code, stdout, stderr := e.lvback("run", "--config", cfg, "--json")
	if code != exitOK {
		t.Fatalf("run after SIGKILL: exit %d: %s", code, stderr)
	}
	var sum runSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || !sum.OK {
		t.Fatalf("summary: %v\n%s", err, stdout)
	}
	want := []string{"unmounted " + mnt, "removed directory " + mnt, "removed logical volume " + testVG + "/" + snap}
	if !slices.Equal(sum.Cleaned, want) {
		t.Errorf("cleaned up %q, want %q", sum.Cleaned, want)
	}
	if len(partial) != 1 || len(e.partials("data")) != 0 {
		t.Errorf("partial backups %q before the run, %q after; want 1, then none", partial, e.partials("data"))
	}
	if n := len(e.backups("data")); n != 1 {
		t.Errorf("%d complete backups, want 1", n)
	}
	e.assertNoLeftovers(testVG+"/data", testVG+"/data-snap")
}

// killMidCopy runs lvback with args, kills it with SIGKILL once it copied
// a few files from the snapshot, and returns the snapshot volume's name and
// mount point it left.
func (e *lvmEnv) killMidCopy(args ...string) (snap, mnt string) {
	e.t.Helper()
	p := e.start(args...)
	p.waitFor(e.t, "copy", func() bool { return e.partialFiles("data") >= 2 })
	p.signal(e.t, syscall.SIGKILL)
	if code := p.wait(e.t); code != -1 {
		e.t.Fatalf("lvback exited %d before SIGKILL; stderr:\n%s", code, p.stderr.String())
	}
	snap, ms := e.snapshotLV(), e.snapshotMounts()
	if snap == "" || len(ms) != 1 || len(e.partials("data")) != 1 {
		e.t.Fatalf("the killed run left snapshot %q, mounts %q, partial backups %q; want one each", snap, ms, e.partials("data"))
	}
	return snap, ms[0]
}
