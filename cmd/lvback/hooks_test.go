package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/repo"
)

// hookScript writes an executable script to dir/name that appends one line
// to log, "hook NAME volume=… source=… repo=… id=… status=…", saves its
// stdin to dir/name.stdin, and exits with status.
func hookScript(t *testing.T, dir, name, log string, status int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	body := fmt.Sprintf(`#!/bin/sh
echo "hook $LVBACK_HOOK volume=$LVBACK_VOLUME source=$LVBACK_SOURCE repo=$LVBACK_REPO id=$LVBACK_BACKUP_ID status=$LVBACK_STATUS" >> %s
cat > %s.stdin
exit %d
`, log, p, status)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// hookCalls returns the fake LVM's calls to lvcreate and lvremove and the
// hooks' lines, in the order they happened (the hooks append to the
// fake's own log), the snapshot's time stamp as "@".
func (e *lvmEnv) hookCalls() []string {
	stamp := regexp.MustCompile(`-lvback-[0-9]{8}T[0-9]{6}`)
	var out []string
	for _, c := range e.calls("lvcreate", "lvremove", "hook") {
		out = append(out, stamp.ReplaceAllString(c, "-lvback-@"))
	}
	return out
}

// readMetrics returns the metrics file's text.
func readMetrics(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("metrics file: %v", err)
	}
	return string(b)
}

// TestLVMSnapshotHooks runs `run` and `backup` with before_snapshot and
// after_snapshot hooks: they run right before and right after lvcreate (not
// around the mount or the copy) with the volume's environment; on_success
// runs at the end of `run` with the backup's ID.
func TestLVMSnapshotHooks(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 64<<20, smallTree("data"))
	calls := filepath.Join(e.vg.State, state.LogFile)
	dir := t.TempDir()
	before := hookScript(t, dir, "before", calls, 0)
	after := hookScript(t, dir, "after", calls, 0)
	success := hookScript(t, dir, "success", calls, 0)
	failure := hookScript(t, dir, "failure", calls, 0)
	wantSnapshot := func(repo string) []string {
		return []string{
			"hook before_snapshot volume=data source=" + lv("data") + " repo=" + repo + " id= status=",
			"lvcreate -s -L 1G -n data-lvback-@ --addtag lvback " + testVG + "/data",
			"hook after_snapshot volume=data source=" + lv("data") + " repo=" + repo + " id= status=ok",
			"lvremove -f " + testVG + "/data-lvback-@",
		}
	}

	t.Run("run", func(t *testing.T) {
		e := e.sub(t)
		cfg := e.config(fmt.Sprintf(`before_snapshot = "%s"
after_snapshot = "%s"
on_success = "%s"
on_failure = "%s"
[[volume]]
name = "data"
lv = "%s"
snapshot_size = "1G"
`, before, after, success, failure, lv("data")))
		if code, _, stderr := e.lvback("run", "--config", cfg); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		bs := e.backups("data")
		if len(bs) != 1 {
			t.Fatalf("%d backups", len(bs))
		}
		want := append(wantSnapshot(e.repo),
			"hook on_success volume=data source="+lv("data")+" repo="+e.repo+" id="+bs[0].Info.ID+" status=ok")
		if got := e.hookCalls(); !slices.Equal(got, want) {
			t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		var sum runSummary
		if b, _ := os.ReadFile(success + ".stdin"); json.Unmarshal(b, &sum) != nil || !sum.OK || len(sum.Volumes) != 1 || sum.Volumes[0].ID != bs[0].Info.ID {
			t.Errorf("on_success's stdin is not the summary: %s", b)
		}
		e.assertNoLeftovers(testVG + "/data")
	})

	t.Run("backup flags", func(t *testing.T) {
		e := e.sub(t)
		code, _, stderr := e.lvback("backup", "--repo", e.repo, "--name", "data", "--lv", lv("data"), "--snapshot-size", "1G",
			"--before-snapshot", before, "--after-snapshot", after, "--hook-timeout", "1m")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got, want := e.hookCalls(), wantSnapshot(e.repo); !slices.Equal(got, want) {
			t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		e.assertNoLeftovers(testVG + "/data")
	})
}

// TestLVMHookFailures checks the failures around a snapshot: after_snapshot
// runs when lvcreate failed (status failed) and when before_snapshot
// failed (it may have half-quiesced the application; no snapshot is made
// then); a failing after_snapshot fails the volume. Each time the volume
// fails, on_failure runs, metrics say lvback_run_success 0, run exits 1
// and nothing is left.
func TestLVMHookFailures(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 64<<20, smallTree("data"))
	calls := filepath.Join(e.vg.State, state.LogFile)
	dir := t.TempDir()
	ok := func(name string) string { return hookScript(t, dir, name, calls, 0) }
	bad := func(name string) string { return hookScript(t, dir, name+"-fails", calls, 1) }
	src := " source=" + lv("data") + " "
	create := "lvcreate -s -L 1G -n data-lvback-@ --addtag lvback " + testVG + "/data"
	tests := []struct {
		name          string
		fault         string
		before, after string
		want          []string // calls; the repository is filled in
		wantErr       string
	}{
		{"lvcreate fails", state.FailLvcreate, ok("before"), ok("after"), []string{
			"hook before_snapshot volume=data" + src + "repo=R id= status=",
			create,
			"hook after_snapshot volume=data" + src + "repo=R id= status=failed",
			"hook on_failure volume=data" + src + "repo=R id= status=failed",
		}, "insufficient free space"},
		{"before_snapshot fails", "", bad("before"), ok("after"), []string{
			"hook before_snapshot volume=data" + src + "repo=R id= status=",
			"hook after_snapshot volume=data" + src + "repo=R id= status=failed",
			"hook on_failure volume=data" + src + "repo=R id= status=failed",
		}, "before_snapshot hook"},
		{"after_snapshot fails", "", ok("before"), bad("after"), []string{
			"hook before_snapshot volume=data" + src + "repo=R id= status=",
			create,
			"hook after_snapshot volume=data" + src + "repo=R id= status=ok",
			"lvremove -f " + testVG + "/data-lvback-@",
			"hook on_failure volume=data" + src + "repo=R id= status=failed",
		}, "after_snapshot hook"},
	}
	onFailure := ok("failure")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			if tt.fault != "" {
				e.vg.Fault(tt.fault, "1")
				defer os.Remove(filepath.Join(e.vg.State, tt.fault))
			}
			metrics := filepath.Join(t.TempDir(), "lvback.prom")
			cfg := e.config(fmt.Sprintf(`before_snapshot = "%s"
after_snapshot = "%s"
on_success = "%s"
on_failure = "%s"
metrics_file = "%s"
[[volume]]
name = "data"
lv = "%s"
snapshot_size = "1G"
`, tt.before, tt.after, ok("success"), onFailure, metrics, lv("data")))
			code, _, stderr := e.lvback("run", "--config", cfg)
			if code != exitFailed || !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("exit %d, want %d and %q:\n%s", code, exitFailed, tt.wantErr, stderr)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.Replace(w, "repo=R", "repo="+e.repo, 1))
			}
			if got := e.hookCalls(); !slices.Equal(got, want) {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var sum runSummary
			if b, _ := os.ReadFile(onFailure + ".stdin"); json.Unmarshal(b, &sum) != nil || sum.OK || !strings.Contains(sum.Volumes[0].Error, tt.wantErr) {
				t.Errorf("on_failure's stdin is not the summary: %s", b)
			}
			if m := readMetrics(t, metrics); !strings.Contains(m, "\nlvback_run_success 0\n") || !strings.Contains(m, `lvback_backup_success{volume="data"} 0`) {
				t.Errorf("metrics:\n%s", m)
			}
			if len(e.backups("data")) != 0 {
				t.Error("a backup was made")
			}
			e.assertNoLeftovers(testVG + "/data")
		})
	}
}

// TestRunLockedRunsOnFailure: with the repository locked exclusively (and
// no wait asked for), run backs nothing up and exits 3, but runs
// on_failure and writes the metrics file (lvback_run_success 0, the
// volume's backup failed).
func TestRunLockedRunsOnFailure(t *testing.T) {
	base := t.TempDir()
	mkTree(t, filepath.Join(base, "src"), "a")
	hookLog := filepath.Join(base, "hooks.log")
	onFailure := hookScript(t, base, "failure", hookLog, 0)
	metrics := filepath.Join(base, "lvback.prom")
	repoPath := filepath.Join(base, "repo")
	if code, _, stderr := run(t, "init", "--repo", repoPath); code != exitOK {
		t.Fatal(stderr)
	}
	cfg := writeConfig(t, base, fmt.Sprintf(`repo = "%s"
on_failure = "%s"
on_success = "%s"
metrics_file = "%s"
[[volume]]
name = "a"
path = "%s/src"
`, repoPath, onFailure, hookScript(t, base, "success", hookLog, 0), metrics, base))
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Lock()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(repo.LockWaitEnv, "0") // no wait for the exclusive lock
	code, _, stderr := run(t, "run", "--config", cfg)
	l.Unlock()
	if code != exitLocked {
		t.Fatalf("exit %d, want %d: %s", code, exitLocked, stderr)
	}
	if got, _ := os.ReadFile(hookLog); !strings.HasPrefix(string(got), "hook on_failure ") || !strings.HasSuffix(string(got), "status=failed\n") {
		t.Errorf("hooks ran:\n%s", got)
	}
	var sum runSummary
	if b, _ := os.ReadFile(onFailure + ".stdin"); json.Unmarshal(b, &sum) != nil || sum.OK || len(sum.Volumes) != 1 || !strings.Contains(sum.Volumes[0].Error, "locked") {
		t.Errorf("on_failure's stdin: %s", b)
	}
	if m := readMetrics(t, metrics); !strings.Contains(m, "\nlvback_run_success 0\n") || !strings.Contains(m, `lvback_backup_success{volume="a"} 0`) {
		t.Errorf("metrics:\n%s", m)
	}
	if completeBackups(t, repoPath, "a") != 0 {
		t.Error("a backup was made while the repository was locked")
	}
}

// TestRunBadConfigRunsOnFailure: a config that fails validation but whose
// on_failure and metrics_file can be read gets both (exit 2, nothing
// backed up); a config that is not even TOML, or that others may write,
// runs nothing.
func TestRunBadConfigRunsOnFailure(t *testing.T) {
	tests := []struct {
		name    string
		volume  string // the [[volume]] table's body
		mode    os.FileMode
		wantRan bool
	}{
		{"invalid volume", "name = \"a\"\n", 0o600, true},
		{"unknown key", "name = \"a\"\npath = \"/etc\"\nsnapshotsize = \"1G\"\n", 0o600, true},
		{"not TOML", "name = \n", 0o600, false},
		{"group-writable", "name = \"a\"\n", 0o620, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			hookLog := filepath.Join(base, "hooks.log")
			metrics := filepath.Join(base, "lvback.prom")
			cfg := writeConfig(t, base, fmt.Sprintf("repo = \"%s/repo\"\non_failure = \"%s\"\nmetrics_file = \"%s\"\n[[volume]]\n%s",
				base, hookScript(t, base, "failure", hookLog, 0), metrics, tt.volume))
			os.Chmod(cfg, tt.mode)
			code, _, stderr := run(t, "run", "--config", cfg)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr)
			}
			got, _ := os.ReadFile(hookLog)
			_, merr := os.Stat(metrics)
			if !tt.wantRan {
				if len(got) > 0 || merr == nil {
					t.Fatalf("on_failure ran (%q) or metrics written (%v) for an unreadable config", got, merr)
				}
				return
			}
			if string(got) != "hook on_failure volume= source= repo="+base+"/repo id= status=failed\n" {
				t.Errorf("hooks ran: %q", got)
			}
			var sum runSummary
			if b, _ := os.ReadFile(filepath.Join(base, "failure.stdin")); json.Unmarshal(b, &sum) != nil || sum.OK || !strings.HasPrefix(sum.Error, "config: ") {
				t.Errorf("on_failure's stdin: %s", b)
			}
			if m := readMetrics(t, metrics); !strings.Contains(m, "\nlvback_run_success 0\n") {
				t.Errorf("metrics:\n%s", m)
			}
			if _, err := os.Stat(filepath.Join(base, "repo")); err == nil {
				t.Error("a broken config created the repository")
			}
		})
	}
}
