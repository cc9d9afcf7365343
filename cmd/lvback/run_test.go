package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/repo"
)

// writeConfig writes a config file (mode 0600, as Load demands).
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "lvback.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// initRepo creates a repository at path with `lvback init` and returns
// path.
func initRepo(t *testing.T, path string) string {
	t.Helper()
	if code, _, stderr := run(t, "init", "--repo", path); code != exitOK {
		t.Fatalf("init %s: exit %d: %s", path, code, stderr)
	}
	return path
}

// initTamperRepo is initRepo with the hard-link layout, for tests that
// change a backup's tree behind lvback's back (a subvolume-layout tree
// is read-only).
func initTamperRepo(t *testing.T, path string) string {
	t.Helper()
	if code, _, stderr := run(t, "init", "--repo", path, "--layout", "hardlink"); code != exitOK {
		t.Fatalf("init %s: exit %d: %s", path, code, stderr)
	}
	return path
}

func mkTree(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func completeBackups(t *testing.T, repoPath, name string) int {
	t.Helper()
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := r.Backups(name)
	n := 0
	for _, b := range bs {
		if b.Complete {
			n++
		}
	}
	return n
}

func TestRunBacksUpEveryVolumeThenPrunes(t *testing.T) {
	base := t.TempDir()
	initRepo(t, filepath.Join(base, "repo"))
	mkTree(t, filepath.Join(base, "etc"), "hosts", "fstab")
	mkTree(t, filepath.Join(base, "www"), "index.html", "img/logo.png")
	hookOut := filepath.Join(base, "hook-ran")
	cfg := writeConfig(t, base, `repo = "`+base+`/repo"
on_failure = "cat > `+hookOut+`"
[retention]
keep_last = 1
[[volume]]
name = "etc"
path = "`+base+`/etc"
[[volume]]
name = "www"
path = "`+base+`/www"
`)
	for i := 0; i < 2; i++ {
		code, out, stderr := run(t, "run", "--config", cfg, "--json")
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr)
		}
		var sum runSummary
		if err := json.Unmarshal([]byte(out), &sum); err != nil || !sum.OK || len(sum.Volumes) != 2 {
			t.Fatalf("summary: %v %+v", err, sum)
		}
		if i == 1 && len(sum.Prune) != 2 {
			t.Fatalf("second run pruned %v, want one backup per volume", sum.Prune)
		}
	}
	for _, name := range []string{"etc", "www"} {
		if n := completeBackups(t, base+"/repo", name); n != 1 {
			t.Fatalf("%s: %d complete backups after keep_last = 1", name, n)
		}
	}
	if _, err := os.Stat(hookOut); err == nil {
		t.Fatal("on_failure ran although nothing failed")
	}
}

func TestRunOneFailureDoesNotStopOthersAndRunsHook(t *testing.T) {
	base := t.TempDir()
	initRepo(t, filepath.Join(base, "repo"))
	mkTree(t, filepath.Join(base, "good"), "a")
	hookOut := filepath.Join(base, "hook-stdin")
	cfg := writeConfig(t, base, `repo = "`+base+`/repo"
on_failure = "cat > `+hookOut+`"
[retention]
keep_last = 1
[[volume]]
name = "missing"
path = "`+base+`/does-not-exist"
[[volume]]
name = "good"
path = "`+base+`/good"
`)
	code, out, stderr := run(t, "run", "--config", cfg)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(stderr, "missing") || !strings.Contains(out, "FAILED") {
		t.Fatalf("failure not reported: stdout %q stderr %q", out, stderr)
	}
	if completeBackups(t, base+"/repo", "good") != 1 {
		t.Fatal("the good volume was not backed up after the failing one")
	}
	data, err := os.ReadFile(hookOut)
	if err != nil {
		t.Fatalf("on_failure did not run: %v", err)
	}
	var sum runSummary
	if err := json.Unmarshal(data, &sum); err != nil || sum.OK || sum.Volumes[0].OK || !sum.Volumes[1].OK {
		t.Fatalf("hook stdin is not the summary: %v %s", err, data)
	}
}

func TestRunBrokenConfigChangesNothing(t *testing.T) {
	base := t.TempDir()
	cfg := writeConfig(t, base, "repo = \""+base+"/repo\"\n[[volume]]\nname = \"a\"\npath = \"/etc\"\nsnapshotsize = \"1G\"\n")
	code, _, stderr := run(t, "run", "--config", cfg)
	if code != exitUsage || !strings.Contains(stderr, "lvback.toml:5: unknown key") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(base + "/repo"); err == nil {
		t.Fatal("a broken config created the repository")
	}
}

func TestRunRefusedWhileLocked(t *testing.T) {
	t.Setenv(repo.LockWaitEnv, "0") // no wait for the exclusive lock
	base := t.TempDir()
	initRepo(t, filepath.Join(base, "repo"))
	mkTree(t, filepath.Join(base, "src"), "a")
	cfg := writeConfig(t, base, "repo = \""+base+"/repo\"\n[[volume]]\nname = \"a\"\npath = \""+base+"/src\"\n")
	r, err := repo.Open(base + "/repo")
	if err != nil {
		t.Fatal(err)
	}
	l, _ := r.Lock()
	defer l.Unlock()
	if code, _, stderr := run(t, "run", "--config", cfg); code != exitLocked {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// A btrfs subvolume is backed up from a read-only snapshot that is gone
// afterwards.
func TestRunBtrfsVolume(t *testing.T) {
	mnt := testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, 256<<20)
	sub := filepath.Join(mnt, "data")
	testsys.Run(t, "btrfs", "subvolume", "create", sub)
	mkTree(t, sub, "db/table1", "db/table2")
	base := t.TempDir()
	initRepo(t, filepath.Join(base, "repo"))
	cfg := writeConfig(t, base, "repo = \""+base+"/repo\"\n[[volume]]\nname = \"data\"\nbtrfs = \""+sub+"\"\n")
	if code, _, stderr := run(t, "run", "--config", cfg); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, _ := repo.Open(base + "/repo")
	b, _ := r.Latest("data")
	if b == nil {
		t.Fatal("no backup")
	}
	if got, _ := os.ReadFile(filepath.Join(b.TreePath(), "db/table1")); string(got) != "db/table1" {
		t.Fatalf("content %q", got)
	}
	left, _ := os.ReadDir(filepath.Join(sub, ".lvback-snapshots"))
	if len(left) != 0 {
		t.Fatalf("snapshots left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(b.TreePath(), ".lvback-snapshots")); err == nil {
		t.Fatal("the snapshot directory itself was backed up")
	}
}
