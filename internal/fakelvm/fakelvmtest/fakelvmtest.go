// Package fakelvmtest sets the fake LVM of command fakelvm up for tests: it
// builds the fake's tools once per test binary, and makes a volume group
// whose logical volumes are images attached to loop devices, with the
// fake's state, fault-injection files and call log at hand. It is for tests
// only; of lvback's own code it uses only the mount table parser
// (internal/mountinfo, tested on its own), so a bug elsewhere cannot hide
// in it.
package fakelvmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/internal/mountinfo"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
)

// Makers of the file systems in origin images, for AddOrigin.
var (
	Ext4  = []string{"mkfs.ext4", "-q", "-F"}
	XFS   = []string{"mkfs.xfs", "-q", "-f"} // images of at least 300 MiB
	Btrfs = []string{"mkfs.btrfs", "-q", "-f"}
)

// tools are the LVM commands the fake acts as.
var tools = []string{"lvcreate", "lvs", "lvchange", "lvremove", "lvrename", "dmsetup", "thin_delta"}

var (
	buildOnce sync.Once
	binDir    string // removed by RemoveTools
	buildErr  error
)

// BuildTools builds the fake LVM once per test binary and returns a
// directory holding it as lvcreate, lvs, lvchange, lvremove, lvrename,
// dmsetup and thin_delta. Call
// RemoveTools from TestMain after m.Run to delete it.
func BuildTools(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "fakelvm-"); buildErr != nil {
			return
		}
		if buildErr = GoBuild(filepath.Join(binDir, "fakelvm"), "github.com/lvback/lvback/internal/fakelvm"); buildErr != nil {
			return
		}
		for _, tool := range tools {
			if buildErr = os.Symlink("fakelvm", filepath.Join(binDir, tool)); buildErr != nil {
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// RemoveTools deletes what BuildTools built; it does nothing when
// BuildTools never ran.
func RemoveTools() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// GoBuild builds the Go package pkg (an import path of this module) into
// the executable out, with the go command that runs the tests (go test
// puts its own bin directory first on the tests' PATH).
func GoBuild(out, pkg string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	if b, err := exec.Command(goTool, "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// VG is one test's volume group in the fake LVM. While the test runs, the
// fake's tools come first on PATH and $FAKELVM_STATE names its state.
type VG struct {
	Name  string // the volume group: its volumes are /dev/NAME/LV
	Base  string // a directory of the test; everything of the VG lives below
	State string // the fake's state directory, $FAKELVM_STATE
	t     testing.TB
}

// New makes the empty volume group name. It skips t unless t runs as root
// with losetup, blkid, mount, umount and mkfs.ext4. When t ends, every mount
// below Base or of a loop device backed by a file below Base (a snapshot
// mounted elsewhere, say) is unmounted and every such loop device detached,
// so a failed test leaks nothing. t must not be parallel (it sets the
// environment).
func New(t testing.TB, name string) *VG {
	t.Helper()
	testsys.RequireRoot(t, "losetup", "blkid", "mount", "umount", "mkfs.ext4")
	bin := BuildTools(t)
	base := t.TempDir()
	v := &VG{Name: name, Base: base, State: filepath.Join(base, "state"), t: t}
	if err := os.Mkdir(v.State, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv(state.EnvDir, v.State)
	t.Cleanup(v.teardown)
	return v
}

// For returns a copy of v that reports its failures to t, a subtest of the
// test that made v (a helper must not fail a parent test from a subtest).
func (v *VG) For(t testing.TB) *VG {
	w := *v
	w.t = t
	return &w
}

// teardown unmounts and detaches what the test left; see New.
func (v *VG) teardown() {
	loops := LoopDevices(v.t)
	ms, err := mountinfo.Read()
	if err != nil {
		v.t.Error(err)
	}
	for _, m := range mountinfo.Under(ms, "/") { // deepest first
		if !mountinfo.Within(m.Point, v.Base) && !mountinfo.Within(loops[m.Source], v.Base) {
			continue
		}
		if out, err := exec.Command("umount", m.Point).CombinedOutput(); err != nil {
			v.t.Errorf("teardown: umount %s: %v: %s", m.Point, err, out)
		}
	}
	for dev, file := range loops {
		if mountinfo.Within(file, v.Base) {
			if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
				v.t.Errorf("teardown: losetup -d %s: %v: %s", dev, err, out)
			}
		}
	}
}

// AddOrigin adds the volume NAME/lv: an image of size bytes made by the
// mkfs command line (Ext4, XFS, ...), holding tree, attached to a loop
// device. It returns an rsync copy of the file system's content, to compare
// snapshots and backups with. It skips the test without mkfs or rsync.
func (v *VG) AddOrigin(lv string, mkfs []string, size int64, tree testtree.Dir) string {
	v.t.Helper()
	testsys.RequireRoot(v.t, mkfs[0], "rsync")
	img := v.Image(lv, size)
	testsys.Run(v.t, append(slices.Clone(mkfs), img)...)
	ref := filepath.Join(v.Base, "ref-"+lv)
	mnt, umount := testsys.Mount(v.t, img, "loop")
	testtree.Create(v.t, mnt, tree)
	testtree.Copy(v.t, mnt, ref)
	umount()
	v.AddImage(lv, img)
	return ref
}

// Image creates an empty (sparse) image file of size bytes for the volume
// lv and returns its path.
func (v *VG) Image(lv string, size int64) string {
	v.t.Helper()
	return testsys.Image(v.t, filepath.Join(v.Base, "origin-"+lv+".img"), size)
}

// AddImage adds the active linear volume NAME/lv backed by img, attached
// to a loop device.
func (v *VG) AddImage(lv, img string) {
	v.t.Helper()
	dev := testsys.Run(v.t, "losetup", "--find", "--show", img)
	v.Add(state.LV{VG: v.Name, Name: lv, Attr: "-wi-a-----", Segtype: "linear",
		Image: img, Loop: dev})
}

// AddThinPool adds the active thin pool NAME/pool whose data blocks are
// dataBlockSize 512-byte sectors (0: state.DefaultDataBlockSize).
func (v *VG) AddThinPool(pool string, dataBlockSize int) {
	v.t.Helper()
	v.Add(state.LV{VG: v.Name, Name: pool, Attr: "twi-aotz--", Segtype: "thin-pool",
		Meta: &state.ThinPool{DataBlockSize: dataBlockSize}})
}

// AddThin adds the active thin volume NAME/lv of pool backed by img,
// attached to a loop device. The fake gives it the next thin id of pool
// on its next call.
func (v *VG) AddThin(lv, pool, img string) {
	v.t.Helper()
	dev := testsys.Run(v.t, "losetup", "--find", "--show", img)
	v.Add(state.LV{VG: v.Name, Name: lv, Attr: "Vwi-a-tz--", Segtype: "thin", Pool: pool,
		Image: img, Loop: dev})
}

// Add adds lv to the state as it is.
func (v *VG) Add(lv state.LV) {
	v.Edit(func(s *state.State) { s.LVs = append(s.LVs, lv) })
}

// Edit changes the fake's state.
func (v *VG) Edit(f func(*state.State)) {
	v.t.Helper()
	s, err := state.Load(v.State)
	if err != nil {
		v.t.Fatal(err)
	}
	f(s)
	if err := s.Save(v.State); err != nil {
		v.t.Fatal(err)
	}
}

// LV returns the volume NAME/lv of the fake's state, or nil.
func (v *VG) LV(lv string) *state.LV {
	v.t.Helper()
	s, err := state.Load(v.State)
	if err != nil {
		v.t.Fatal(err)
	}
	return s.Find(v.Name, lv)
}

// Names are the volumes of the fake's state, "VG/LV" each, in state order.
func (v *VG) Names() []string {
	v.t.Helper()
	s, err := state.Load(v.State)
	if err != nil {
		v.t.Fatal(err)
	}
	var ns []string
	for _, lv := range s.LVs {
		ns = append(ns, lv.VG+"/"+lv.Name)
	}
	return ns
}

// Fault creates the fault-injection file name (a constant of package state)
// holding content; "" removes it.
func (v *VG) Fault(name, content string) {
	v.t.Helper()
	p := filepath.Join(v.State, name)
	if content == "" {
		os.Remove(p)
		return
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		v.t.Fatal(err)
	}
}

// Calls returns the fake's log of calls whose tool is one of of (all when
// none is given), oldest first.
func (v *VG) Calls(of ...string) []string {
	v.t.Helper()
	all, err := state.Calls(v.State)
	if err != nil {
		v.t.Fatal(err)
	}
	var out []string
	for _, c := range all {
		tool, _, _ := strings.Cut(c, " ")
		if len(of) == 0 || slices.Contains(of, tool) {
			out = append(out, c)
		}
	}
	return out
}

// SnapshotImages is the directory holding the image files of the snapshots
// the fake created and has not removed.
func (v *VG) SnapshotImages() string { return filepath.Join(v.State, state.ImageDir) }

// LoopDevices maps each attached loop device to its backing file.
func LoopDevices(t testing.TB) map[string]string {
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
