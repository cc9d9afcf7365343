package lvm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/mountinfo"
	"github.com/lvback/lvback/internal/testtree"
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
	fakelvmtest.RemoveTools()
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

// fakeVG is one test's volume group "vg" in the fake LVM, whose tools come
// first on PATH while the test runs, with the run directory of its
// snapshots.
type fakeVG struct {
	*fakelvmtest.VG
	t      *testing.T
	runDir string // Options.RunDir
}

// newFakeVG makes an empty volume group; t's end unmounts and detaches
// whatever the test left.
func newFakeVG(t *testing.T) *fakeVG {
	t.Helper()
	vg := fakelvmtest.New(t, "vg")
	return &fakeVG{VG: vg, t: t, runDir: filepath.Join(vg.Base, "run")}
}

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

// assertNothingLeft fails t if a snapshot volume, a loop device of one, a
// mount or a directory below the run directory is left, or any volume but
// keep exists.
func (v *fakeVG) assertNothingLeft(keep ...string) {
	v.t.Helper()
	if got := v.Names(); !slices.Equal(got, keep) {
		v.t.Errorf("volumes left: %q, want %q", got, keep)
	}
	for dev, file := range fakelvmtest.LoopDevices(v.t) {
		if strings.HasPrefix(file, v.SnapshotImages()+"/") {
			v.t.Errorf("loop device %s of snapshot image %s still attached", dev, file)
		}
	}
	if ms, _ := mountsUnder(v.runDir); len(ms) > 0 {
		v.t.Errorf("still mounted: %+v", ms)
	}
	entries, _ := os.ReadDir(v.runDir)
	for _, e := range entries {
		if e.Name() != lockName && !poolLockPattern.MatchString(e.Name()) {
			v.t.Errorf("left in the run directory: %s", e.Name())
		}
	}
}

// mountAt returns the mount at dir, or nil.
func mountAt(t *testing.T, dir string) *mountEntry {
	t.Helper()
	ms, err := mountinfo.Read()
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

// hasOption reports whether the comma-separated opts include o.
func hasOption(opts, o string) bool {
	return slices.Contains(strings.Split(opts, ","), o)
}
