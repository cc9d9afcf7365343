package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lvback/lvback/engine"
)

// While a backup runs (held still with SIGSTOP once it has started
// copying, so the test needs no timing): a second backup of the same
// name and a prune of it are refused at once with exit 3 and touch
// nothing; a backup of another name and a `run` of it go on at the same
// time; list and verify see only the complete backups and do not wait.
// The stopped backup then finishes normally.
func TestConcurrentRunsOnOneRepository(t *testing.T) {
	base := t.TempDir()
	src, repoPath := filepath.Join(base, "src"), initRepo(t, filepath.Join(base, "repo"))
	mkTree(t, src, "first")
	e := &lvmEnv{t: t, bin: lvbackBinary(t), repo: repoPath}
	backup := func(name string) []string {
		return []string{"backup", "--repo", repoPath, "--name", name, "--source", src, "--jobs", "1", "-q"}
	}
	if code := e.start(backup("vol")...).wait(t); code != 0 {
		t.Fatalf("first backup: exit %d", code)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for i := range 64 { // enough that the copy is still running when stopped
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(src, "big"+strconv.Itoa(i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	running := e.start(backup("vol")...)
	running.waitFor(t, "a file copied", func() bool {
		m, _ := filepath.Glob(filepath.Join(repoPath, "backups", "vol", "*.partial", "tree", "big*"))
		return len(m) > 0
	})
	if err := running.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	partials, _ := filepath.Glob(filepath.Join(repoPath, "backups", "vol", "*.partial"))
	pid := strconv.Itoa(running.cmd.Process.Pid)

	cfg := writeConfig(t, base, "repo = \""+repoPath+"\"\n[[volume]]\nname = \"other\"\npath = \""+src+"\"\n")
	for _, args := range [][]string{backup("vol"), {"prune", "--repo", repoPath, "--keep-last", "1"}} {
		p := e.start(args...)
		if code := p.wait(t); code != exitLocked || !strings.Contains(p.stderr.String(), "pid "+pid) {
			t.Errorf("%q while a backup of the volume runs: exit %d, stderr %q; want %d naming pid %s", args, code, p.stderr.String(), exitLocked, pid)
		}
	}
	// Another volume backs up meanwhile, by hand and by run.
	for _, args := range [][]string{backup("other"), {"run", "--config", cfg}} {
		p := e.start(args...)
		if code := p.wait(t); code != exitOK {
			t.Errorf("%q while a backup of another volume runs: exit %d, stderr %q; want 0", args, code, p.stderr.String())
		}
	}
	if now, _ := filepath.Glob(filepath.Join(repoPath, "backups", "vol", "*.partial")); len(now) != 1 || now[0] != partials[0] {
		t.Fatalf("the running backup's directory was touched: %q, was %q", now, partials)
	}

	list := e.start("list", "--repo", repoPath, "--json")
	if code := list.wait(t); code != 0 {
		t.Fatalf("list: exit %d: %s", code, list.stderr.String())
	}
	var items []listItem
	if err := json.Unmarshal(list.stdout.Bytes(), &items); err != nil {
		t.Fatal(err)
	}
	complete := 0
	for _, it := range items {
		if it.Complete {
			complete++
		}
	}
	if complete != 3 || len(items) != 4 {
		t.Errorf("list while a backup runs: %+v, want the first backup of vol and two of other complete, the running one not", items)
	}
	verify := e.start("verify", "--repo", repoPath, "--json")
	if code := verify.wait(t); code != 0 {
		t.Fatalf("verify while a backup runs: exit %d: %s", code, verify.stderr.String())
	}
	var rep engine.VerifyReport
	if err := json.Unmarshal(verify.stdout.Bytes(), &rep); err != nil || len(rep.Backups) != 3 {
		t.Errorf("verify while a backup runs checked %v (%v), want only the three complete backups", rep.Backups, err)
	}

	running.cmd.Process.Signal(syscall.SIGCONT)
	if code := running.wait(t); code != 0 {
		t.Fatalf("the stopped backup: exit %d: %s", code, running.stderr.String())
	}
	if n := completeBackups(t, repoPath, "vol"); n != 2 {
		t.Fatalf("%d complete backups after both runs, want 2", n)
	}
	if p := e.start("verify", "--repo", repoPath, "-q"); p.wait(t) != 0 {
		t.Fatalf("verify after both runs: %s", p.stdout.String())
	}
}
