package lvm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/internal/fakelvm/state"
)

// childEnv, when set, makes the test binary a child that creates the
// snapshot its JSON childSpec describes, prints "ready MOUNTPOINT" and
// sleeps until killed (TestCleanupAfterSIGKILL).
const childEnv = "LVBACK_LVM_TEST_CHILD"

type childSpec struct{ LV, Size, RunDir string }

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	code := m.Run()
	if fakeBin != "" {
		os.RemoveAll(fakeBin)
	}
	os.Exit(code)
}

func runChild(spec string) int {
	var c childSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := SnapshotLV(context.Background(), c.LV, Options{Size: c.Size, RunDir: c.RunDir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready", s.MountPoint())
	time.Sleep(time.Hour) // until SIGKILL
	return 3
}

// now is the clock of the tests; snapName is the name it gives a
// snapshot of "data".
var now = func() time.Time { return time.Date(2026, 11, 25, 3, 15, 0, 0, time.UTC) }

const snapName = "data-lvback-20261125T031500"

var (
	fakeOnce sync.Once
	fakeBin  string // directory of the fake tools, removed by TestMain
	fakeErr  error
)

// fakeTools builds the fake LVM once per test binary and returns a
// directory holding it as lvcreate, lvs, lvchange and lvremove.
func fakeTools(t *testing.T) string {
	t.Helper()
	fakeOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if fakeBin, fakeErr = os.MkdirTemp("", "fakelvm-"); fakeErr != nil {
			return
		}
		out, err := exec.Command(goTool, "build", "-o", filepath.Join(fakeBin, "fakelvm"), "./internal/fakelvm").CombinedOutput()
		if err != nil {
			fakeErr = fmt.Errorf("go build fakelvm: %v\n%s", err, out)
			return
		}
		for _, tool := range []string{"lvcreate", "lvs", "lvchange", "lvremove"} {
			if fakeErr = os.Symlink("fakelvm", filepath.Join(fakeBin, tool)); fakeErr != nil {
				return
			}
		}
	})
	if fakeErr != nil {
		t.Fatal(fakeErr)
	}
	return fakeBin
}

// requireRoot skips t unless it runs as root with the given tools.
func requireRoot(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot attach loop devices or mount")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install util-linux mount e2fsprogs xfsprogs btrfs-progs)", tool)
		}
	}
}

// fakeVG is one test's volume group "vg" in the fake LVM, whose tools come
// first on PATH while the test runs.
type fakeVG struct {
	t      *testing.T
	base   string // everything of the test lives below
	state  string // $FAKELVM_STATE
	runDir string // Options.RunDir
}

// newFakeVG makes an empty volume group; t's end unmounts and detaches
// whatever the test left.
func newFakeVG(t *testing.T) *fakeVG {
	t.Helper()
	requireRoot(t, "losetup", "blkid", "mount", "umount", "mkfs.ext4")
	bin := fakeTools(t)
	base := t.TempDir()
	v := &fakeVG{t: t, base: base, state: filepath.Join(base, "state"), runDir: filepath.Join(base, "run")}
	if err := os.Mkdir(v.state, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv(state.EnvDir, v.state)
	t.Cleanup(v.teardown)
	return v
}

// teardown unmounts everything below base and detaches every loop device
// backed by a file below it, so a failed test leaks nothing.
func (v *fakeVG) teardown() {
	ms, err := mountsUnder(v.base)
	if err != nil {
		v.t.Error(err)
	}
	for _, m := range ms {
		if out, err := exec.Command("umount", m.Point).CombinedOutput(); err != nil {
			v.t.Errorf("teardown: umount %s: %v: %s", m.Point, err, out)
		}
	}
	for dev, file := range loopDevices(v.t) {
		if strings.HasPrefix(file, v.base+"/") {
			if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
				v.t.Errorf("teardown: losetup -d %s: %v: %s", dev, err, out)
			}
		}
	}
}

// loopDevices maps each attached loop device to its backing file.
func loopDevices(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		t.Fatal(err)
	}
	devs := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // detached meanwhile
		}
		dev := "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(f)))
		devs[dev] = strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)")
	}
	return devs
}

// Makers of the file systems in origin images.
var (
	ext4  = []string{"mkfs.ext4", "-q", "-F"}
	xfs   = []string{"mkfs.xfs", "-q", "-f"} // at least 300 MiB
	btrfs = []string{"mkfs.btrfs", "-q", "-f"}
)

// sampleTree is the content of the origins.
func sampleTree() testtree.Dir {
	return testtree.Dir{Entries: map[string]testtree.Node{
		"hello.txt": testtree.File{Content: []byte("hello, snapshot\n"), Mode: 0o640},
		"sub": testtree.Dir{Entries: map[string]testtree.Node{
			"data.bin": testtree.File{Content: bytes.Repeat([]byte("0123456789abcdef"), 64<<10)},
			"link":     testtree.Symlink{Target: "../hello.txt"},
		}},
	}}
}

// addOrigin adds the volume vg/name: an image of size bytes made by mkfs,
// holding tree, attached to a loop device. It returns a copy of the file
// system's content taken with rsync, to compare snapshots with.
func (v *fakeVG) addOrigin(name string, mkfs []string, size int64, tree testtree.Dir) string {
	v.t.Helper()
	requireRoot(v.t, mkfs[0], "rsync")
	img := v.image(name, size)
	sh(v.t, append(slices.Clone(mkfs), img)...)
	mnt := filepath.Join(v.base, "fill-"+name)
	ref := filepath.Join(v.base, "ref-"+name)
	if err := os.Mkdir(mnt, 0o700); err != nil {
		v.t.Fatal(err)
	}
	sh(v.t, "mount", "-o", "loop", img, mnt)
	testtree.Create(v.t, mnt, tree)
	testtree.Copy(v.t, mnt, ref)
	sh(v.t, "umount", mnt)
	v.addImage(name, img)
	return ref
}

// image creates an empty (sparse) image file for the volume name.
func (v *fakeVG) image(name string, size int64) string {
	v.t.Helper()
	img := filepath.Join(v.base, "origin-"+name+".img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		v.t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		v.t.Fatal(err)
	}
	return img
}

// addImage adds the active linear volume vg/name backed by img.
func (v *fakeVG) addImage(name, img string) {
	v.t.Helper()
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		v.t.Fatalf("losetup: %v: %s", err, out)
	}
	v.add(state.LV{VG: "vg", Name: name, Attr: "-wi-a-----", Segtype: "linear",
		Image: img, Loop: strings.TrimSpace(string(out))})
}

// add adds lv to the state as it is.
func (v *fakeVG) add(lv state.LV) {
	v.edit(func(s *state.State) { s.LVs = append(s.LVs, lv) })
}

// edit changes the fake's state.
func (v *fakeVG) edit(f func(*state.State)) {
	v.t.Helper()
	s, err := state.Load(v.state)
	if err != nil {
		v.t.Fatal(err)
	}
	f(s)
	if err := s.Save(v.state); err != nil {
		v.t.Fatal(err)
	}
}

// lv returns the volume vg/name of the fake's state, or nil.
func (v *fakeVG) lv(name string) *state.LV {
	v.t.Helper()
	s, err := state.Load(v.state)
	if err != nil {
		v.t.Fatal(err)
	}
	return s.Find("vg", name)
}

// names are the names of the volumes in the fake's state.
func (v *fakeVG) names() []string {
	v.t.Helper()
	s, err := state.Load(v.state)
	if err != nil {
		v.t.Fatal(err)
	}
	var ns []string
	for _, lv := range s.LVs {
		ns = append(ns, lv.VG+"/"+lv.Name)
	}
	return ns
}

// fault creates the fault-injection file name with content; "" removes it.
func (v *fakeVG) fault(name, content string) {
	v.t.Helper()
	p := filepath.Join(v.state, name)
	if content == "" {
		os.Remove(p)
		return
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		v.t.Fatal(err)
	}
}

// calls returns the fake's log of calls whose tool is one of tools (all
// when none is given).
func (v *fakeVG) calls(tools ...string) []string {
	v.t.Helper()
	all, err := state.Calls(v.state)
	if err != nil {
		v.t.Fatal(err)
	}
	var out []string
	for _, c := range all {
		tool, _, _ := strings.Cut(c, " ")
		if len(tools) == 0 || slices.Contains(tools, tool) {
			out = append(out, c)
		}
	}
	return out
}

// assertNothingLeft fails t if a snapshot volume, a loop device of one, a
// mount or a directory below the run directory is left, or any volume but
// keep exists.
func (v *fakeVG) assertNothingLeft(keep ...string) {
	v.t.Helper()
	if got := v.names(); !slices.Equal(got, keep) {
		v.t.Errorf("volumes left: %q, want %q", got, keep)
	}
	for dev, file := range loopDevices(v.t) {
		if strings.HasPrefix(file, filepath.Join(v.state, state.ImageDir)) {
			v.t.Errorf("loop device %s of snapshot image %s still attached", dev, file)
		}
	}
	if ms, _ := mountsUnder(v.runDir); len(ms) > 0 {
		v.t.Errorf("still mounted: %+v", ms)
	}
	entries, _ := os.ReadDir(v.runDir)
	for _, e := range entries {
		if e.Name() != lockName {
			v.t.Errorf("left in the run directory: %s", e.Name())
		}
	}
}

// mountAt returns the mount at dir, or nil.
func mountAt(t *testing.T, dir string) *mountEntry {
	t.Helper()
	ms, err := readMounts()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Point == dir {
			return &ms[i]
		}
	}
	return nil
}

// abandon simulates the death of the process holding s: it drops the run
// directory's lock and forgets s, removing nothing.
func abandon(t *testing.T, s Snapshot) {
	t.Helper()
	switch s := s.(type) {
	case *lvSnapshot:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.lock.unlock()
		s.lock, s.released = nil, true
	case *btrfsSnapshot:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.lock.unlock()
		s.lock, s.released = nil, true
	default:
		t.Fatalf("abandon: unknown snapshot type %T", s)
	}
}

// sh runs a command, failing t with its output if it fails.
func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%q: %v\n%s", args, err, out)
	}
}

// hasOption reports whether the comma-separated opts include o.
func hasOption(opts, o string) bool {
	return slices.Contains(strings.Split(opts, ","), o)
}
