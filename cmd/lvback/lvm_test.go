package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
)

// TestLVMRunEveryKind runs `lvback run` over an ext4 and an XFS logical
// volume, a plain directory and a btrfs subvolume, twice: every volume gets
// a complete backup equal to its origin, nothing of the snapshots is left,
// and the second run hard-links the unchanged files.
func TestLVMRunEveryKind(t *testing.T) {
	e := newLVMEnv(t)
	f := newEveryKind(t, e)
	for run := 1; run <= 2; run++ {
		code, stdout, stderr := e.lvback("run", "--config", f.cfg, "--json")
		if code != exitOK {
			t.Fatalf("run %d: exit %d:\n%s", run, code, stderr)
		}
		var sum runSummary
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Fatalf("run %d: summary is not JSON: %v\n%s", run, err, stdout)
		}
		if !sum.OK || len(sum.Volumes) != len(f.refs) {
			t.Fatalf("run %d: summary %+v, want %d ok volumes", run, sum, len(f.refs))
		}
		for _, v := range sum.Volumes {
			if !v.OK || v.Files == 0 || (run == 1 && v.Copied == 0) || (run == 2 && v.Linked == 0) {
				t.Errorf("run %d: volume %+v, want ok and files %s", run, v, map[int]string{1: "copied", 2: "linked"}[run])
			}
		}
		e.assertNoLeftovers(f.keep...)
		if left, err := os.ReadDir(filepath.Join(f.subvol, ".lvback-snapshots")); err == nil && len(left) > 0 {
			t.Errorf("btrfs snapshots left: %v", left)
		}
		for name := range f.refs {
			if n := len(e.backups(name)); n != run {
				t.Fatalf("run %d: %s has %d complete backups", run, name, n)
			}
		}
		if run == 1 {
			f.compare(t, e)
		}
	}
	stamp := regexp.MustCompile(`-lvback-[0-9]{8}T[0-9]{6} `)
	var got []string
	for _, c := range e.calls("lvcreate") {
		got = append(got, stamp.ReplaceAllString(c, "-lvback-@ "))
	}
	if want := slices.Concat(f.wantCreate, f.wantCreate); !slices.Equal(got, want) {
		t.Errorf("lvcreate calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// everyKind is a config with a volume of every kind, and what to expect of
// its run.
type everyKind struct {
	cfg        string            // the config file
	refs       map[string]string // per volume name: what its backup must hold
	keep       []string          // the fake's volumes: the origins
	wantCreate []string          // lvcreate calls of a run, the snapshot's time as "@"
	subvol     string            // the btrfs volume
}

// newEveryKind makes the volumes (XFS only when mkfs.xfs is installed) and
// the config.
func newEveryKind(t *testing.T, e *lvmEnv) *everyKind {
	t.Helper()
	testsys.RequireRoot(t, "btrfs", "rsync")
	f := &everyKind{
		refs:       map[string]string{"data": e.vg.AddOrigin("data", fakelvmtest.Ext4, 64<<20, smallTree("data"))},
		keep:       []string{testVG + "/data"},
		wantCreate: []string{"lvcreate -s -L 2G -n data-lvback-@ --addtag lvback " + testVG + "/data"},
	}
	cfg := "[defaults]\nsnapshot_size = \"2G\"\njobs = 2\n[[volume]]\nname = \"data\"\nlv = \"" + lv("data") + "\"\n"
	if _, err := exec.LookPath("mkfs.xfs"); err == nil {
		f.refs["xfsdata"] = e.vg.AddOrigin("xfsdata", fakelvmtest.XFS, 320<<20, smallTree("xfsdata"))
		f.keep = append(f.keep, testVG+"/xfsdata")
		f.wantCreate = append(f.wantCreate, "lvcreate -s -l 20%ORIGIN -n xfsdata-lvback-@ --addtag lvback "+testVG+"/xfsdata")
		cfg += "[[volume]]\nname = \"xfsdata\"\nlv = \"" + lv("xfsdata") + "\"\nsnapshot_size = \"20%ORIGIN\"\n"
	} else {
		t.Log("mkfs.xfs not installed (apt-get install xfsprogs): the XFS volume is left out")
	}
	dir := filepath.Join(e.vg.Base, "etc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testtree.Create(t, dir, smallTree("etc"))
	f.refs["etc"] = dir
	cfg += "[[volume]]\nname = \"etc\"\npath = \"" + dir + "\"\n"
	f.subvol, f.refs["subvol"] = btrfsVolume(t)
	cfg += "[[volume]]\nname = \"subvol\"\nbtrfs = \"" + f.subvol + "\"\n"
	f.cfg = e.config(cfg)
	return f
}

// compare compares each volume's only backup with its reference.
func (f *everyKind) compare(t *testing.T, e *lvmEnv) {
	t.Helper()
	for name, ref := range f.refs {
		tree := e.backups(name)[0].TreePath()
		if name == "subvol" {
			// lvback made .lvback-snapshots in the subvolume's root just
			// before the snapshot, so the root's mtime is not the
			// origin's (the directory itself is left out of the backup).
			sameMtime(t, ref, tree)
		}
		if d := testtree.RsyncDiff(t, ref, tree); d != "" {
			t.Errorf("%s: the backup differs from the origin:\n%s", name, d)
		}
	}
}

// btrfsVolume makes a btrfs subvolume holding smallTree and returns it with
// a reference copy of its content.
func btrfsVolume(t *testing.T) (subvol, ref string) {
	t.Helper()
	mnt := testsys.MountImage(t, fakelvmtest.Btrfs, 256<<20)
	subvol = filepath.Join(mnt, "subvol")
	testsys.Run(t, "btrfs", "-q", "subvolume", "create", subvol)
	testtree.Create(t, subvol, smallTree("subvol"))
	ref = filepath.Join(t.TempDir(), "ref")
	testtree.Copy(t, subvol, ref)
	return subvol, ref
}

// sameMtime gives dst the mtime of src.
func sameMtime(t *testing.T, dst, src string) {
	t.Helper()
	fi, err := os.Lstat(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestLVMBrokenConfigChangesNothing checks that a config lvback refuses
// stops every command before any LVM command runs or the repository is
// made.
func TestLVMBrokenConfigChangesNothing(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 64<<20, smallTree("data"))
	cases := []struct {
		name, text string
		want       string // after "FILE:"
	}{
		{"unknown key", `[defaults]
snapshot_size = "2G"
[[volume]]
name = "data"
lv = "` + lv("data") + `"
snapshotsize = "1G"
`, `7: unknown key "volume.snapshotsize"`},
		{"lv and path", `
[[volume]]
name = "etc"
path = "/etc"

[[volume]]
name = "data"
lv = "` + lv("data") + `"
path = "/srv"
`, `7: volume 2: data: set exactly one of lv, path or btrfs`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.sub(t)
			cfg := e.config(c.text)
			for _, args := range [][]string{
				{"run", "--config", cfg},
				{"run", "--config", cfg, "--json"},
				{"cleanup", "--config", cfg},
			} {
				code, stdout, stderr := e.lvback(args...)
				want := "lvback: " + cfg + ":" + c.want + "\n"
				if code != exitUsage || stderr != want {
					t.Errorf("%q: exit %d, stderr %q; want exit %d, stderr %q", args, code, stderr, exitUsage, want)
				}
				if stdout != "" {
					t.Errorf("%q printed %q", args, stdout)
				}
			}
			if calls := e.vg.Calls(); len(calls) > 0 {
				t.Errorf("LVM commands ran: %q", calls)
			}
			if ents, _ := os.ReadDir(filepath.Join(e.repo, "backups")); len(ents) != 0 {
				t.Errorf("a broken config wrote into the repository: %v", ents)
			}
			e.assertNoLeftovers(testVG + "/data")
		})
	}
}

// TestLVMCreateFails makes lvcreate fail (exit status 5, volume group
// full) for one volume of a run: the error names lvcreate and the volume
// on one line, the run exits 1, the other volumes are backed up and
// on_failure runs once with the summary.
func TestLVMCreateFails(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 64<<20, smallTree("data"))
	e.vg.Fault(state.FailLvcreate, "1")
	base := t.TempDir()
	mkTree(t, filepath.Join(base, "etc"), "hosts")
	mkTree(t, filepath.Join(base, "www"), "index.html")
	hooks := filepath.Join(base, "hooks")
	if err := os.Mkdir(hooks, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := e.config(`on_failure = "cat > $(mktemp -p ` + hooks + ` hook.XXXXXX)"
[defaults]
snapshot_size = "1G"
[[volume]]
name = "etc"
path = "` + base + `/etc"
[[volume]]
name = "data"
lv = "` + lv("data") + `"
[[volume]]
name = "www"
path = "` + base + `/www"
`)
	code, stdout, stderr := e.lvback("run", "--config", cfg)
	t.Logf("exit %d; stderr:\n%s", code, stderr)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d:\n%s", code, exitFailed, stderr)
	}
	var dataLine string
	for l := range strings.Lines(stderr) {
		if strings.HasPrefix(l, "lvback: data: ") {
			if dataLine != "" {
				t.Errorf("more than one error line for data:\n%s", stderr)
			}
			dataLine = l
		}
	}
	for _, want := range []string{"lvcreate -s -L 1G -n data-lvback-", "--addtag lvback " + testVG + "/data: exit status 5: ", "insufficient free space"} {
		if !strings.Contains(dataLine, want) {
			t.Errorf("error line %q lacks %q; stderr:\n%s", dataLine, want, stderr)
		}
	}
	if !strings.Contains(stdout, "FAILED") {
		t.Errorf("the summary does not show the failure:\n%s", stdout)
	}
	for _, name := range []string{"etc", "www"} {
		if n := len(e.backups(name)); n != 1 {
			t.Errorf("%s: %d complete backups, want 1", name, n)
		}
	}
	if len(e.backups("data")) != 0 {
		t.Error("data has a complete backup")
	}
	if got := e.calls("lvremove"); len(got) > 0 {
		t.Errorf("lvremove ran after a failed lvcreate: %q", got)
	}
	e.assertNoLeftovers(testVG + "/data")

	ran, _ := filepath.Glob(filepath.Join(hooks, "hook.*"))
	if len(ran) != 1 {
		t.Fatalf("on_failure ran %d times, want once", len(ran))
	}
	data, err := os.ReadFile(ran[0])
	if err != nil {
		t.Fatal(err)
	}
	var sum runSummary
	if err := json.Unmarshal(data, &sum); err != nil || sum.OK || len(sum.Volumes) != 3 {
		t.Fatalf("on_failure's stdin is not the summary: %v\n%s", err, data)
	}
	for i, want := range []bool{true, false, true} {
		if v := sum.Volumes[i]; v.OK != want {
			t.Errorf("summary volume %s: ok %v, want %v", v.Name, v.OK, want)
		}
	}
	if !strings.Contains(sum.Volumes[1].Error, "lvcreate") {
		t.Errorf("summary error of data: %q", sum.Volumes[1].Error)
	}
}

// TestLVMOverflow checks that a snapshot that overflowed gives no complete
// backup and exit 1, and that one 85% full gives a warning and exit 0.
func TestLVMOverflow(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("data", fakelvmtest.Ext4, 64<<20, smallTree("data"))
	backup := []string{"backup", "--repo", e.repo, "--name", "data", "--lv", lv("data"), "--snapshot-size", "1G"}

	e.vg.Fault(state.Overflow, "1")
	code, _, stderr := e.lvback(backup...)
	t.Logf("overflow: exit %d; stderr:\n%s", code, stderr)
	if code != exitFailed {
		t.Errorf("overflow: exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(stderr, "overflow") || !strings.Contains(stderr, "snapshot size") {
		t.Errorf("overflow: stderr %q does not say so, nor to raise the snapshot size", stderr)
	}
	if got := e.listComplete("data"); len(got) != 0 {
		t.Errorf("overflow: complete backups %q", got)
	}
	e.assertNoLeftovers(testVG + "/data")

	e.vg.Fault(state.Percent, "85.00")
	code, _, stderr = e.lvback(backup...)
	t.Logf("85%% full: exit %d; stderr:\n%s", code, stderr)
	if code != exitOK || !strings.Contains(stderr, "snapshot nearly full") {
		t.Errorf("85%% full: exit %d, stderr %q; want 0 and a warning", code, stderr)
	}
	if got := e.listComplete("data"); len(got) != 1 {
		t.Errorf("85%% full: complete backups %q, want 1", got)
	}
	e.assertNoLeftovers(testVG + "/data")
}

// listComplete returns the ids of the complete backups of name that
// `lvback list --json` shows.
func (e *lvmEnv) listComplete(name string) []string {
	e.t.Helper()
	code, stdout, stderr := e.lvback("list", "--repo", e.repo, "--name", name, "--json")
	if code != exitOK {
		e.t.Fatalf("list: exit %d: %s", code, stderr)
	}
	var items []struct {
		ID       string
		Complete bool
	}
	if err := json.Unmarshal([]byte(stdout), &items); err != nil {
		e.t.Fatalf("list --json: %v\n%s", err, stdout)
	}
	var ids []string
	for _, it := range items {
		if it.Complete {
			ids = append(ids, it.ID)
		}
	}
	return ids
}

// Block mode of an LV: the snapshot is read as a device, never mounted,
// and the restored image equals the origin's image at snapshot time.
func TestLVMBlockMode(t *testing.T) {
	e := newLVMEnv(t)
	e.vg.AddOrigin("disk", fakelvmtest.Ext4, 32<<20, smallTree("disk"))
	want, err := os.ReadFile(e.vg.LV("disk").Image)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := e.lvback("backup", "--repo", e.repo, "--name", "disk", "--mode", "blocks", "--lv", lv("disk"))
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if m := e.snapshotMounts(); len(m) != 0 {
		t.Fatalf("block mode mounted the snapshot: %v", m)
	}
	e.assertNoLeftovers(testVG + "/disk")
	out := filepath.Join(t.TempDir(), "disk.img")
	if code, _, stderr := e.lvback("restore", "--repo", e.repo, "--name", "disk", "--target", out); code != exitOK {
		t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored image differs from the origin (%v)", err)
	}
}
