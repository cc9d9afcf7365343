package btrfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/mountinfo"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
)

// imageSize is the smallest btrfs mkfs.btrfs makes with its defaults
// (128 MiB) plus room for the benchmark's 10,000 files.
const imageSize = 256 << 20

// mountBtrfs mounts a fresh btrfs until t ends and returns its mount
// point, skipping t without root, mkfs.btrfs or (as the tests' oracle)
// the btrfs tool.
func mountBtrfs(t testing.TB) string {
	t.Helper()
	testsys.RequireRoot(t, "mkfs.btrfs", "btrfs")
	return testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, imageSize)
}

// sample is the tree the tests put in a subvolume.
func sample() testtree.Dir {
	return testtree.Dir{Entries: map[string]testtree.Node{
		"a":    testtree.File{Content: []byte("alpha\n")},
		"link": testtree.Symlink{Target: "a"},
		"d": testtree.Dir{Entries: map[string]testtree.Node{
			"b":     testtree.File{Content: []byte("beta\n"), Mode: 0o600},
			"empty": testtree.Dir{},
		}},
	}}
}

// TestKernelABI checks the Go structs and request numbers against
// linux/btrfs.h (values printed by a C program including it on x86_64).
func TestKernelABI(t *testing.T) {
	sizes := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct btrfs_ioctl_vol_args)", unsafe.Sizeof(volArgs{}), 4096},
		{"sizeof(struct btrfs_ioctl_vol_args_v2)", unsafe.Sizeof(volArgsV2{}), 4096},
		{"offsetof(btrfs_ioctl_vol_args, name)", unsafe.Offsetof(volArgs{}.Name), 8},
		{"offsetof(btrfs_ioctl_vol_args_v2, flags)", unsafe.Offsetof(volArgsV2{}.Flags), 16},
		{"offsetof(btrfs_ioctl_vol_args_v2, name)", unsafe.Offsetof(volArgsV2{}.Name), 56},
	}
	for _, s := range sizes {
		if s.got != s.want {
			t.Errorf("%s = %d, want %d", s.name, s.got, s.want)
		}
	}
	switch runtime.GOARCH {
	case "amd64", "arm64", "arm", "386", "riscv64", "loong64", "s390x":
	default:
		t.Skipf("request numbers of %s not recorded", runtime.GOARCH)
	}
	reqs := []struct {
		name      string
		got, want uintptr
	}{
		{"BTRFS_IOC_SYNC", iocSync, 0x9408},
		{"BTRFS_IOC_SUBVOL_CREATE", iocSubvolCreate, 0x5000940e},
		{"BTRFS_IOC_SNAP_DESTROY", iocSnapDestroy, 0x5000940f},
		{"BTRFS_IOC_SNAP_CREATE_V2", iocSnapCreateV2, 0x50009417},
		{"BTRFS_IOC_SUBVOL_GETFLAGS", iocSubvolGetflags, 0x80089419},
		{"BTRFS_IOC_SUBVOL_SETFLAGS", iocSubvolSetflags, 0x4008941a},
		{"BTRFS_IOC_SNAP_DESTROY_V2", iocSnapDestroyV2, 0x5000943f},
	}
	for _, r := range reqs {
		if r.got != r.want {
			t.Errorf("%s = %#x, want %#x", r.name, r.got, r.want)
		}
	}
}

func TestIsBtrfsIsSubvolume(t *testing.T) {
	mnt := mountBtrfs(t)
	sub := filepath.Join(mnt, "sub")
	testsys.Must(t, Create(sub))
	testsys.Must(t, os.Mkdir(filepath.Join(mnt, "plain"), 0o755))
	testsys.Must(t, os.Symlink("sub", filepath.Join(mnt, "symlink")))
	testsys.Must(t, os.WriteFile(filepath.Join(sub, "file"), nil, 0o644))
	tmp := testsys.MountTmpfs(t, 1<<20)
	cases := []struct {
		path          string
		btrfs, subvol bool
	}{
		{mnt, true, true}, // the top-level subvolume, id 5
		{sub, true, true},
		{filepath.Join(mnt, "plain"), true, false},
		{filepath.Join(mnt, "symlink"), true, false},
		{filepath.Join(sub, "file"), true, false},
		{tmp, false, false},
	}
	for _, c := range cases {
		if got, err := IsBtrfs(c.path); err != nil || got != c.btrfs {
			t.Errorf("IsBtrfs(%s) = %v, %v; want %v", c.path, got, err, c.btrfs)
		}
		if got, err := IsSubvolume(c.path); err != nil || got != c.subvol {
			t.Errorf("IsSubvolume(%s) = %v, %v; want %v", c.path, got, err, c.subvol)
		}
	}
	missing := filepath.Join(mnt, "missing")
	if _, err := IsBtrfs(missing); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), missing) {
		t.Errorf("IsBtrfs(missing) error = %v, want ENOENT naming the path", err)
	}
	if _, err := IsSubvolume(missing); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), missing) {
		t.Errorf("IsSubvolume(missing) error = %v, want ENOENT naming the path", err)
	}
}

func TestCreateAndSnapshot(t *testing.T) {
	mnt := mountBtrfs(t)
	sub, snap := filepath.Join(mnt, "sub"), filepath.Join(mnt, "snap")
	testsys.Must(t, Create(sub))
	if got := listSubvolumes(t, mnt); !slices.Equal(got, []string{"sub"}) {
		t.Fatalf("btrfs subvolume list after Create = %q, want [sub]", got)
	}
	entries, err := os.ReadDir(sub)
	testsys.Must(t, err)
	if len(entries) != 0 {
		t.Errorf("new subvolume holds %v", entries)
	}
	testtree.Create(t, sub, sample())

	testsys.Must(t, Snapshot(sub, snap, false))
	if got := listSubvolumes(t, mnt); !slices.Equal(got, []string{"snap", "sub"}) {
		t.Fatalf("btrfs subvolume list after Snapshot = %q, want [snap sub]", got)
	}
	if d := testtree.RsyncDiff(t, sub, snap); d != "" {
		t.Fatalf("snapshot differs from its source:\n%s", d)
	}
	if ro, err := ReadOnly(snap); err != nil || ro {
		t.Errorf("ReadOnly(writable snapshot) = %v, %v", ro, err)
	}
	if got := property(t, snap); got != "ro=false" {
		t.Errorf("btrfs property get ro of writable snapshot = %q", got)
	}

	// The snapshot shares the data but not the files.
	testsys.Must(t, os.WriteFile(filepath.Join(snap, "a"), []byte("changed\n"), 0o644))
	testsys.Must(t, os.WriteFile(filepath.Join(snap, "new"), nil, 0o644))
	testsys.Must(t, os.Remove(filepath.Join(snap, "d", "b")))
	if got, err := os.ReadFile(filepath.Join(sub, "a")); err != nil || string(got) != "alpha\n" {
		t.Errorf("source a after writing the snapshot's = %q, %v", got, err)
	}
	if _, err := os.Lstat(filepath.Join(sub, "new")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file created in the snapshot is in the source: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(sub, "d", "b")); err != nil {
		t.Errorf("a file removed from the snapshot left the source: %v", err)
	}
}

func TestReadOnlySnapshot(t *testing.T) {
	mnt := mountBtrfs(t)
	sub, snap := filepath.Join(mnt, "sub"), filepath.Join(mnt, "ro")
	testsys.Must(t, Create(sub))
	testtree.Create(t, sub, sample())
	testsys.Must(t, Snapshot(sub, snap, true))
	if ro, err := ReadOnly(snap); err != nil || !ro {
		t.Errorf("ReadOnly(read-only snapshot) = %v, %v", ro, err)
	}
	if got := property(t, snap); got != "ro=true" {
		t.Errorf("btrfs property get ro of read-only snapshot = %q", got)
	}
	if ro, err := ReadOnly(sub); err != nil || ro {
		t.Errorf("ReadOnly(source of read-only snapshot) = %v, %v", ro, err)
	}
	if d := testtree.RsyncDiff(t, sub, snap); d != "" {
		t.Fatalf("snapshot differs from its source:\n%s", d)
	}
	for _, c := range changes {
		if err := c.do(snap); !errors.Is(err, unix.EROFS) {
			t.Errorf("%s in a read-only snapshot: %v, want EROFS", c.name, err)
		}
	}
	if d := testtree.RsyncDiff(t, sub, snap); d != "" {
		t.Errorf("read-only snapshot changed:\n%s", d)
	}
	// The source stays writable.
	for _, c := range changes {
		if err := c.do(sub); err != nil {
			t.Errorf("%s in the source of a read-only snapshot: %v", c.name, err)
		}
	}
}

// change is a named change to the sample tree at root.
type change struct {
	name string
	do   func(root string) error
}

// changes are a change of each kind to the sample tree, in an order in
// which each succeeds on a writable copy.
var changes = []change{
	{"write", func(root string) error {
		f, err := os.OpenFile(filepath.Join(root, "a"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString("more\n")
		return errors.Join(err, f.Close())
	}},
	{"create", func(root string) error { return os.WriteFile(filepath.Join(root, "d", "new"), nil, 0o644) }},
	{"mkdir", func(root string) error { return os.Mkdir(filepath.Join(root, "newdir"), 0o755) }},
	{"chmod", func(root string) error { return os.Chmod(filepath.Join(root, "a"), 0o600) }},
	{"setxattr", func(root string) error { return unix.Lsetxattr(filepath.Join(root, "a"), "user.test", []byte("x"), 0) }},
	{"remove", func(root string) error { return os.Remove(filepath.Join(root, "d", "b")) }},
	{"rmdir", func(root string) error { return os.Remove(filepath.Join(root, "d", "empty")) }},
	{"rename", func(root string) error { return os.Rename(filepath.Join(root, "a"), filepath.Join(root, "renamed")) }},
}

func TestSetReadOnly(t *testing.T) {
	mnt := mountBtrfs(t)
	sub := filepath.Join(mnt, "sub")
	testsys.Must(t, Create(sub))
	testtree.Create(t, sub, sample())
	file := filepath.Join(sub, "a")
	for i, ro := range []bool{true, true, false, false, true, false} {
		testsys.Must(t, SetReadOnly(sub, ro))
		got, err := ReadOnly(sub)
		testsys.Must(t, err)
		if got != ro {
			t.Errorf("step %d: ReadOnly after SetReadOnly(%v) = %v", i, ro, got)
		}
		if got, want := property(t, sub), "ro="+strconv.FormatBool(ro); got != want {
			t.Errorf("step %d: btrfs property get after SetReadOnly(%v) = %q, want %q", i, ro, got, want)
		}
		err = os.WriteFile(file, []byte(strconv.Itoa(i)), 0o644)
		if ro && !errors.Is(err, unix.EROFS) || !ro && err != nil {
			t.Errorf("step %d: write with SetReadOnly(%v): %v", i, ro, err)
		}
	}
	// A directory inside a read-only subvolume is not one: its flags are
	// not the subvolume's to report or change.
	testsys.Must(t, SetReadOnly(sub, true))
	dir := filepath.Join(sub, "d")
	if _, err := ReadOnly(dir); !errors.Is(err, ErrNotSubvolume) {
		t.Errorf("ReadOnly(directory in a subvolume) error = %v, want ErrNotSubvolume", err)
	}
	if err := SetReadOnly(dir, false); !errors.Is(err, ErrNotSubvolume) || !errors.Is(err, unix.EINVAL) {
		t.Errorf("SetReadOnly(directory in a subvolume) error = %v, want ErrNotSubvolume and EINVAL", err)
	}
	if got := property(t, sub); got != "ro=true" {
		t.Errorf("subvolume after SetReadOnly of a directory in it: %q", got)
	}
}

func TestDelete(t *testing.T) {
	mnt := mountBtrfs(t)
	sub := filepath.Join(mnt, "sub")
	testsys.Must(t, Create(sub))
	testtree.Create(t, sub, sample())
	ref := t.TempDir()
	testtree.Copy(t, sub, ref)
	for _, ro := range []bool{false, true} {
		name := "snap-ro=" + strconv.FormatBool(ro)
		snap := filepath.Join(mnt, name)
		testsys.Must(t, Snapshot(sub, snap, ro))
		if got := listSubvolumes(t, mnt); !slices.Contains(got, name) {
			t.Fatalf("btrfs subvolume list = %q, without %s", got, name)
		}
		if err := Delete(snap); err != nil {
			t.Fatalf("Delete(%s): %v", name, err)
		}
		if _, err := os.Lstat(snap); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after Delete(%s): lstat: %v", name, err)
		}
		if got := listSubvolumes(t, mnt); !slices.Equal(got, []string{"sub"}) {
			t.Errorf("btrfs subvolume list after Delete(%s) = %q, want [sub]", name, got)
		}
		if d := testtree.RsyncDiff(t, ref, sub); d != "" {
			t.Errorf("source changed by Delete(%s):\n%s", name, d)
		}
	}
	testsys.Must(t, Delete(sub))
	if got := listSubvolumes(t, mnt); len(got) != 0 {
		t.Errorf("btrfs subvolume list after deleting all = %q", got)
	}
}

func TestDeleteNested(t *testing.T) {
	mnt := mountBtrfs(t)
	outer := filepath.Join(mnt, "outer")
	testsys.Must(t, Create(outer))
	testsys.Must(t, Create(filepath.Join(outer, "inner")))
	err := Delete(outer)
	if !errors.Is(err, unix.ENOTEMPTY) || !strings.Contains(err.Error(), outer) {
		t.Errorf("Delete(subvolume holding a subvolume) error = %v, want ENOTEMPTY naming it", err)
	}
	if got := listSubvolumes(t, mnt); !slices.Equal(got, []string{"outer", "outer/inner"}) {
		t.Errorf("btrfs subvolume list after the refused Delete = %q", got)
	}
	testsys.Must(t, Delete(filepath.Join(outer, "inner")))
	testsys.Must(t, Delete(outer))
}

// TestErrors checks that each refused call names the path, wraps the
// errno and changes nothing on the file system.
func TestErrors(t *testing.T) {
	mnt := mountBtrfs(t)
	sub := filepath.Join(mnt, "sub")
	testsys.Must(t, Create(sub))
	testtree.Create(t, sub, sample())
	testsys.Must(t, Snapshot(sub, filepath.Join(mnt, "ro"), true))
	testsys.Must(t, os.Symlink("sub", filepath.Join(mnt, "symlink")))
	tmp := testsys.MountTmpfs(t, 1<<20)
	testsys.Must(t, os.Mkdir(filepath.Join(tmp, "dir"), 0o755))
	p := func(name string) string { return filepath.Join(mnt, name) }
	cases := []struct {
		name    string
		call    func() error
		path    string
		want    []error
		created string // must not exist after the call
	}{
		{"snapshot of a directory in a subvolume", func() error { return Snapshot(p("sub/d"), p("snap"), false) },
			p("sub/d"), []error{ErrNotSubvolume, unix.EINVAL}, p("snap")},
		{"snapshot of a file", func() error { return Snapshot(p("sub/a"), p("snap"), true) },
			p("sub/a"), []error{ErrNotSubvolume, unix.ENOTDIR}, p("snap")},
		{"snapshot of a symlink to a subvolume", func() error { return Snapshot(p("symlink"), p("snap"), false) },
			p("symlink"), []error{ErrNotSubvolume, unix.ENOTDIR}, p("snap")},
		{"snapshot of a missing path", func() error { return Snapshot(p("missing"), p("snap"), false) },
			p("missing"), []error{unix.ENOENT}, p("snap")},
		{"snapshot onto an existing directory", func() error { return Snapshot(p("sub"), p("sub/d"), false) },
			p("sub/d"), []error{unix.EEXIST}, ""},
		{"snapshot into a read-only subvolume", func() error { return Snapshot(p("sub"), p("ro/snap"), false) },
			p("ro/snap"), []error{unix.EROFS}, p("ro/snap")},
		{"snapshot to another file system", func() error { return Snapshot(p("sub"), filepath.Join(tmp, "snap"), false) },
			filepath.Join(tmp, "snap"), []error{unix.ENOTTY}, filepath.Join(tmp, "snap")},
		{"create where a directory exists", func() error { return Create(p("sub/d")) },
			p("sub/d"), []error{unix.EEXIST}, ""},
		{"create where a file exists", func() error { return Create(p("sub/a")) },
			p("sub/a"), []error{unix.EEXIST}, ""},
		{"create where a subvolume exists", func() error { return Create(p("sub")) },
			p("sub"), []error{unix.EEXIST}, ""},
		{"create in a missing directory", func() error { return Create(p("missing/sub")) },
			p("missing/sub"), []error{unix.ENOENT}, ""},
		{"create in a read-only subvolume", func() error { return Create(p("ro/new")) },
			p("ro/new"), []error{unix.EROFS}, p("ro/new")},
		{"create on tmpfs", func() error { return Create(filepath.Join(tmp, "new")) },
			filepath.Join(tmp, "new"), []error{unix.ENOTTY}, filepath.Join(tmp, "new")},
		{"delete of a plain directory", func() error { return Delete(p("sub/d")) },
			p("sub/d"), []error{ErrNotSubvolume, unix.EINVAL}, ""},
		{"delete of a file", func() error { return Delete(p("sub/a")) },
			p("sub/a"), []error{ErrNotSubvolume, unix.EINVAL}, ""},
		{"delete of a symlink to a subvolume", func() error { return Delete(p("symlink")) },
			p("symlink"), []error{ErrNotSubvolume, unix.EINVAL}, ""},
		{"delete of a missing path", func() error { return Delete(p("missing")) },
			p("missing"), []error{unix.ENOENT}, ""},
		{"delete of a directory on tmpfs", func() error { return Delete(filepath.Join(tmp, "dir")) },
			filepath.Join(tmp, "dir"), []error{ErrNotSubvolume, unix.EINVAL}, ""},
		{"delete of the top-level subvolume", func() error { return Delete(mnt) },
			mnt, nil, ""},
		{"set read-only of a directory", func() error { return SetReadOnly(p("sub/d"), true) },
			p("sub/d"), []error{ErrNotSubvolume, unix.EINVAL}, ""},
		{"read-only of a missing path", func() error { _, err := ReadOnly(p("missing")); return err },
			p("missing"), []error{unix.ENOENT}, ""},
		{"sync of a missing path", func() error { return Sync(p("missing")) },
			p("missing"), []error{unix.ENOENT}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, beforeTmp := listTree(t, mnt), listTree(t, tmp)
			beforeSubvols := listSubvolumes(t, mnt)
			err := c.call()
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), c.path) {
				t.Errorf("error %q does not name %s", err, c.path)
			}
			for _, want := range c.want {
				if !errors.Is(err, want) {
					t.Errorf("error %q is not %v", err, want)
				}
			}
			if c.created != "" {
				if _, err := os.Lstat(c.created); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s exists after the refused call: %v", c.created, err)
				}
			}
			if after := listTree(t, mnt); !slices.Equal(before, after) {
				t.Errorf("btrfs tree changed:\nbefore %q\nafter  %q", before, after)
			}
			if after := listTree(t, tmp); !slices.Equal(beforeTmp, after) {
				t.Errorf("tmpfs tree changed:\nbefore %q\nafter  %q", beforeTmp, after)
			}
			if after := listSubvolumes(t, mnt); !slices.Equal(beforeSubvols, after) {
				t.Errorf("subvolumes changed:\nbefore %q\nafter  %q", beforeSubvols, after)
			}
		})
	}
}

// TestSyncCommits checks Sync against the superblock on disk: a new
// subvolume is in the tree of a committed transaction only once the
// superblock's generation has reached the subvolume's generation at
// creation (as `btrfs subvolume show` reports it). Create needs Sync;
// Snapshot commits by itself.
func TestSyncCommits(t *testing.T) {
	mnt := mountBtrfs(t)
	img := backingFile(t, mnt)
	testsys.Must(t, Sync(mnt))
	sub := filepath.Join(mnt, "sub")
	testsys.Must(t, Create(sub))
	created := genAtCreation(t, sub)
	if g := superGeneration(t, img); g >= created {
		t.Skipf("transaction %d committed before Sync (superblock at %d): nothing left to test", created, g)
	}
	testsys.Must(t, Sync(sub))
	if g := superGeneration(t, img); g < created {
		t.Errorf("after Sync the superblock's generation is %d, before the subvolume's creation at %d", g, created)
	}
	snap := filepath.Join(mnt, "snap")
	testsys.Must(t, Snapshot(sub, snap, true))
	if g, created := superGeneration(t, img), genAtCreation(t, snap); g < created {
		t.Errorf("after Snapshot the superblock's generation is %d, before the snapshot's creation at %d", g, created)
	}
}

// listSubvolumes returns the paths of the subvolumes below mnt, sorted, as
// `btrfs subvolume list` reports them.
func listSubvolumes(t testing.TB, mnt string) []string {
	t.Helper()
	var paths []string
	for line := range strings.Lines(testsys.Run(t, "btrfs", "subvolume", "list", mnt)) {
		_, path, ok := strings.Cut(strings.TrimSpace(line), " path ")
		if !ok {
			t.Fatalf("btrfs subvolume list printed %q", line)
		}
		paths = append(paths, path)
	}
	slices.Sort(paths)
	return paths
}

// property returns `btrfs property get -ts path ro`: "ro=true" or "ro=false".
func property(t testing.TB, path string) string {
	t.Helper()
	return testsys.Run(t, "btrfs", "property", "get", "-ts", path, "ro")
}

// listTree returns a line per entry below root: path, mode, size and
// modification time.
func listTree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d %d", path, fi.Mode(), fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	testsys.Must(t, err)
	return out
}

// backingFile returns the image file behind the loop device mounted at mnt.
func backingFile(t testing.TB, mnt string) string {
	t.Helper()
	ms, err := mountinfo.Read()
	testsys.Must(t, err)
	m, ok := mountinfo.Containing(ms, mnt)
	if !ok || m.Point != mnt || !strings.HasPrefix(m.Source, "/dev/loop") {
		t.Fatalf("no loop device mounted at %s: %+v", mnt, m)
	}
	b, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(m.Source), "loop/backing_file"))
	testsys.Must(t, err)
	return strings.TrimSpace(string(b))
}

// superGeneration reads the generation of the last committed transaction
// from the primary superblock of the btrfs image img (at 64 KiB; magic at
// offset 64, generation at 72).
func superGeneration(t testing.TB, img string) uint64 {
	t.Helper()
	f, err := os.Open(img)
	testsys.Must(t, err)
	defer f.Close()
	buf := make([]byte, 16)
	_, err = f.ReadAt(buf, 64<<10+64)
	testsys.Must(t, err)
	if string(buf[:8]) != "_BHRfS_M" {
		t.Fatalf("%s: no btrfs superblock magic: %q", img, buf[:8])
	}
	return binary.LittleEndian.Uint64(buf[8:])
}

// genAtCreation returns the "Gen at creation" `btrfs subvolume show`
// reports for the subvolume at path.
func genAtCreation(t testing.TB, path string) uint64 {
	t.Helper()
	for line := range strings.Lines(testsys.Run(t, "btrfs", "subvolume", "show", path)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Gen at creation:"); ok {
			g, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			testsys.Must(t, err)
			return g
		}
	}
	t.Fatalf("btrfs subvolume show %s: no Gen at creation", path)
	return 0
}

// BenchmarkSnapshotDelete snapshots a subvolume and deletes the snapshot.
// The cost does not grow with the number of files: the kernel copies the
// subvolume's root node and takes a reference on each of its children
// (at most a node's fan-out), then commits. Measured on 6.18, amd64,
// -benchtime 50x: 10 files 1.9 ms, 1,000 files 2.2 ms, 10,000 files
// 5-6 ms (a root node full of children), 100,000 files 3.3 ms (one level
// more, fewer children at the root). Deletion only unlinks the snapshot;
// the kernel's cleaner frees it later, outside the timing.
func BenchmarkSnapshotDelete(b *testing.B) {
	for _, files := range []int{10, 10000} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			testsys.RequireRoot(b, "mkfs.btrfs")
			mnt := testsys.MountImage(b, []string{"mkfs.btrfs", "-q"}, imageSize)
			sub, snap := filepath.Join(mnt, "sub"), filepath.Join(mnt, "snap")
			testsys.Must(b, Create(sub))
			for i := range files {
				testsys.Must(b, os.WriteFile(filepath.Join(sub, strconv.Itoa(i)), []byte(strconv.Itoa(i)), 0o644))
			}
			testsys.Must(b, Sync(mnt))
			checked := false
			for b.Loop() {
				testsys.Must(b, Snapshot(sub, snap, true))
				if !checked {
					b.StopTimer()
					entries, err := os.ReadDir(snap)
					testsys.Must(b, err)
					if len(entries) != files {
						b.Fatalf("snapshot holds %d files, want %d", len(entries), files)
					}
					checked = true
					b.StartTimer()
				}
				testsys.Must(b, Delete(snap))
			}
		})
	}
}
