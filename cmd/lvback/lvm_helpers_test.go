package main

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
)

// The LVM tests run the lvback binary as a subprocess against the fake LVM
// (internal/fakelvm), so that signals, exit codes and a SIGKILL are real.
// Snapshots are mounted under lvm.DefaultRunDir as in production: the tests
// are serial, need it to themselves and leave it as they found it.

// testVG is the fake volume group; its snapshots are mounted at
// lvm.DefaultRunDir/testVG-*, a prefix no real system is likely to use.
const testVG = "lvbacktest"

const (
	// procTimeout bounds every lvback run; the slowest takes about a second.
	procTimeout = 60 * time.Second
	// pollInterval is how often a test looks for the stage it waits for.
	pollInterval = 2 * time.Millisecond
)

// oldTime is the mtime of the origin files: far enough in the past that a
// second backup trusts them and hard-links them.
var oldTime = time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)

var (
	lvbackOnce sync.Once
	lvbackDir  string // removed by TestMain
	lvbackErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	fakelvmtest.RemoveTools()
	if lvbackDir != "" {
		os.RemoveAll(lvbackDir)
	}
	os.Exit(code)
}

// lvbackBinary builds lvback once per test binary and returns its path.
func lvbackBinary(t *testing.T) string {
	t.Helper()
	lvbackOnce.Do(func() {
		if lvbackDir, lvbackErr = os.MkdirTemp("", "lvback-bin-"); lvbackErr != nil {
			return
		}
		lvbackErr = fakelvmtest.GoBuild(filepath.Join(lvbackDir, "lvback"), "github.com/lvback/lvback/cmd/lvback")
	})
	if lvbackErr != nil {
		t.Fatal(lvbackErr)
	}
	return filepath.Join(lvbackDir, "lvback")
}

// lvmEnv is one test's fake volume group, repository and lvback binary.
type lvmEnv struct {
	t    *testing.T
	vg   *fakelvmtest.VG
	bin  string
	repo string // not created: lvback creates it
	mark int    // how many LVM calls the fake had logged when e was made
}

// newLVMEnv makes an empty fake volume group testVG, whose tools come first
// on PATH while t runs. It fails t when something is mounted under
// lvm.DefaultRunDir already (another run's leftover would be removed by
// lvback and spoil the test).
func newLVMEnv(t *testing.T) *lvmEnv {
	t.Helper()
	t.Cleanup(removeMountDirs) // runs after the VG's teardown unmounted them
	vg := fakelvmtest.New(t, testVG)
	if ms := testsys.MountsUnder(t, lvm.DefaultRunDir); len(ms) > 0 {
		t.Fatalf("%s is in use (%q): these tests need it to themselves", lvm.DefaultRunDir, ms)
	}
	return &lvmEnv{t: t, vg: vg, bin: lvbackBinary(t), repo: initRepo(t, filepath.Join(vg.Base, "repo"))}
}

// removeMountDirs removes the empty mount directories of testVG's
// snapshots that a failed test left in lvm.DefaultRunDir.
func removeMountDirs() {
	entries, _ := os.ReadDir(lvm.DefaultRunDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), testVG+"-") {
			os.Remove(filepath.Join(lvm.DefaultRunDir, e.Name()))
		}
	}
}

// sub returns a copy of e for the subtest t, with a repository of its own
// and a log of calls that starts empty.
func (e *lvmEnv) sub(t *testing.T) *lvmEnv {
	vg := e.vg.For(t)
	return &lvmEnv{t: t, vg: vg, bin: e.bin, repo: initRepo(t, filepath.Join(t.TempDir(), "repo")), mark: len(vg.Calls())}
}

// calls returns the LVM calls since e was made whose tool is one of tools
// (all when none is given).
func (e *lvmEnv) calls(tools ...string) []string {
	e.t.Helper()
	var out []string
	for _, c := range e.vg.Calls()[e.mark:] {
		tool, _, _ := strings.Cut(c, " ")
		if len(tools) == 0 || slices.Contains(tools, tool) {
			out = append(out, c)
		}
	}
	return out
}

// lv is the device path of the fake volume name.
func lv(name string) string { return "/dev/" + testVG + "/" + name }

// proc is a running lvback.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer // read them only after wait
	done           chan struct{}
}

// start starts lvback with args, with LC_ALL=C; t's end kills it if it
// still runs.
func (e *lvmEnv) start(args ...string) *proc {
	e.t.Helper()
	return e.startWith(&syscall.SysProcAttr{}, args...)
}

// startGroup is start with lvback leading a process group of its own, as
// a shell's job in a terminal does: a signal to the group reaches the
// commands lvback runs too.
func (e *lvmEnv) startGroup(args ...string) *proc {
	e.t.Helper()
	return e.startWith(&syscall.SysProcAttr{Setpgid: true}, args...)
}

func (e *lvmEnv) startWith(attr *syscall.SysProcAttr, args ...string) *proc {
	e.t.Helper()
	p := &proc{cmd: exec.Command(e.bin, args...), done: make(chan struct{})}
	p.cmd.SysProcAttr = attr
	p.cmd.Env = append(os.Environ(), "LC_ALL=C")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	e.t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for p to exit and returns its exit code (-1 when a signal
// killed it); it fails t after procTimeout.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(procTimeout):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("lvback %q still ran after %v; stderr:\n%s", p.cmd.Args[1:], procTimeout, p.stderr.Bytes())
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitFor polls cond until it holds; it fails t when p exits first or
// after procTimeout.
func (p *proc) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(procTimeout)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("lvback exited (%v) before %s; stderr:\n%s", p.cmd.ProcessState, what, p.stderr.Bytes())
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, procTimeout)
		}
	}
}

// signal sends sig to p.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// lvback runs lvback with args to its end.
func (e *lvmEnv) lvback(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	p := e.start(args...)
	code = p.wait(e.t)
	return code, p.stdout.String(), p.stderr.String()
}

// config writes a config file with the repository e.repo and text.
func (e *lvmEnv) config(text string) string {
	e.t.Helper()
	return writeConfig(e.t, e.t.TempDir(), "repo = \""+e.repo+"\"\n"+text)
}

// snapshotLV returns the name of the volume the fake's lvcreate made and
// lvremove did not remove, or "".
func (e *lvmEnv) snapshotLV() string {
	s, err := state.Load(e.vg.State)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, v := range s.LVs {
		if strings.HasPrefix(v.Image, e.vg.SnapshotImages()+"/") {
			return v.Name
		}
	}
	return ""
}

// snapshotMounts returns the mount points of testVG's snapshots.
func (e *lvmEnv) snapshotMounts() []string {
	var out []string
	for _, m := range testsys.MountsUnder(e.t, lvm.DefaultRunDir) {
		if strings.HasPrefix(m, filepath.Join(lvm.DefaultRunDir, testVG)+"-") {
			out = append(out, m)
		}
	}
	return out
}

// partials returns the ID.partial directories of name.
func (e *lvmEnv) partials(name string) []string {
	ps, _ := filepath.Glob(filepath.Join(e.repo, "backups", name, "*.partial"))
	return ps
}

// partialFiles counts the regular files in the ID.partial trees of name.
func (e *lvmEnv) partialFiles(name string) int {
	n := 0
	for _, d := range e.partials(name) {
		filepath.WalkDir(filepath.Join(d, "tree"), func(_ string, de fs.DirEntry, err error) error {
			if err == nil && de.Type().IsRegular() {
				n++
			}
			return nil
		})
	}
	return n
}

// backups returns the complete backups of name (none when the repository
// does not exist).
func (e *lvmEnv) backups(name string) []repo.Backup {
	e.t.Helper()
	if _, err := os.Lstat(e.repo); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	r, err := repo.Open(e.repo)
	if err != nil {
		e.t.Fatal(err)
	}
	bs, err := r.Backups(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(bs, func(b repo.Backup) bool { return !b.Complete })
}

// assertNoLeftovers fails t if any volume but keep (VG/LV names), a loop
// device of a snapshot image, a mount or a directory of testVG under
// lvm.DefaultRunDir, or an ID.partial directory in the repository is left.
func (e *lvmEnv) assertNoLeftovers(keep ...string) {
	e.t.Helper()
	if got := e.vg.Names(); !slices.Equal(got, keep) {
		e.t.Errorf("volumes left: %q, want %q", got, keep)
	}
	for dev, file := range fakelvmtest.LoopDevices(e.t) {
		if strings.HasPrefix(file, e.vg.SnapshotImages()+"/") {
			e.t.Errorf("loop device %s of snapshot image %s still attached", dev, file)
		}
	}
	if ms := testsys.MountsUnder(e.t, lvm.DefaultRunDir); len(ms) > 0 {
		e.t.Errorf("still mounted under %s: %q", lvm.DefaultRunDir, ms)
	}
	entries, _ := os.ReadDir(lvm.DefaultRunDir)
	for _, d := range entries {
		if strings.HasPrefix(d.Name(), testVG+"-") {
			e.t.Errorf("left in %s: %s", lvm.DefaultRunDir, d.Name())
		}
	}
	if ps := e.partials("*"); len(ps) > 0 {
		e.t.Errorf("partial backups left: %q", ps)
	}
}

// assertUnlocked checks that nothing holds the repository lock: a backup
// of a plain directory into it succeeds at once (lvback never waits for
// the lock; it exits 3).
func (e *lvmEnv) assertUnlocked() {
	e.t.Helper()
	src := filepath.Join(e.t.TempDir(), "plain")
	mkTree(e.t, src, "file")
	if code, _, stderr := e.lvback("backup", "--repo", e.repo, "--name", "plain", "--source", src); code != exitOK {
		e.t.Errorf("a backup after the run: exit %d: %s", code, stderr)
	}
}

// smallTree is the content of a small origin: every kind of entry a backup
// keeps, with old mtimes.
func smallTree(label string) testtree.Dir {
	return testtree.Dir{Entries: map[string]testtree.Node{
		"hello.txt": testtree.File{Content: []byte("hello from " + label + "\n"), Mode: 0o640, Mtime: oldTime},
		"sub": testtree.Dir{Mtime: oldTime, Entries: map[string]testtree.Node{
			"data.bin": testtree.File{Content: bytes.Repeat([]byte(label), 32<<10), Mtime: oldTime},
			"link":     testtree.Symlink{Target: "../hello.txt", Mtime: oldTime},
			"hard":     testtree.Hardlink{To: "hello.txt"},
			"empty":    testtree.Dir{Mode: 0o700, Mtime: oldTime},
		}},
	}}
}

// Size of bigTree: enough that copying it at --jobs 1 takes long
// enough for a test to see the copy under way and signal lvback.
const (
	bigFiles    = 160
	bigFileSize = 256 << 10 // 40 MiB in all
)

// bigTree is an origin of random (incompressible) files.
func bigTree() testtree.Dir {
	rng := rand.NewChaCha8([32]byte{'l', 'v', 'b', 'a', 'c', 'k'})
	dirs := map[string]testtree.Node{}
	for i := range bigFiles {
		d := string(rune('a' + i%8))
		if dirs[d] == nil {
			dirs[d] = testtree.Dir{Entries: map[string]testtree.Node{}}
		}
		content := make([]byte, bigFileSize)
		rng.Read(content)
		dirs[d].(testtree.Dir).Entries[string(rune('a'+i/8))+".bin"] = testtree.File{Content: content, Mtime: oldTime}
	}
	return testtree.Dir{Entries: dirs}
}
