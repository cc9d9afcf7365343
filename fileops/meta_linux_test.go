package fileops

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/xattr"
	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/manifest"
)

// lstat returns the raw lstat of path.
func lstat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// ownEntry returns an entry of type typ owned by the current user.
func ownEntry(typ manifest.Type, mode uint32, mtime manifest.Time) *manifest.Entry {
	return &manifest.Entry{Type: typ, Mode: mode, Mtime: mtime, UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
}

// checkMeta fails t unless path has e's mode (except for symlinks) and has
// e.Mtime as mtime and atime.
func checkMeta(t *testing.T, path string, e *manifest.Entry) {
	t.Helper()
	st := lstat(t, path)
	if e.Type != manifest.TypeSymlink && st.Mode&0o7777 != e.Mode {
		t.Errorf("%s: mode %o, want %o", path, st.Mode&0o7777, e.Mode)
	}
	if got := FromTimespec(st.Mtim); got != e.Mtime {
		t.Errorf("%s: mtime %v, want %v", path, got, e.Mtime)
	}
	if got := FromTimespec(st.Atim); got != e.Mtime {
		t.Errorf("%s: atime %v, want %v", path, got, e.Mtime)
	}
}

func TestApplyMetaModeAndTimes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   manifest.Type
		mode  uint32
		mtime manifest.Time
	}{
		{"file", manifest.TypeFile, 0o640, manifest.Time{Sec: 1_234_567_890, Nsec: 123_456_789}},
		{"file setuid setgid", manifest.TypeFile, 0o6755, manifest.Time{Sec: 1_600_000_000, Nsec: 1}},
		{"file sticky", manifest.TypeFile, 0o1600, manifest.Time{Sec: 0, Nsec: 999_999_999}},
		{"file before 1970", manifest.TypeFile, 0o444, manifest.Time{Sec: -124, Nsec: 543_210_988}},
		// After 2262, beyond int64 nanoseconds; ext4 with 256-byte inodes keeps it.
		{"file in 2300", manifest.TypeFile, 0o644, manifest.Time{Sec: 10_413_792_000, Nsec: 999_999_999}},
		{"dir sticky", manifest.TypeDir, 0o1777, manifest.Time{Sec: 1_700_000_000, Nsec: 987_654_321}},
		{"dir setgid read-only", manifest.TypeDir, 0o2500, manifest.Time{Sec: 1_500_000_000, Nsec: 7}},
		{"dir in 2446", manifest.TypeDir, 0o755, manifest.Time{Sec: 15_021_255_845, Nsec: 1}},
		{"symlink", manifest.TypeSymlink, 0o777, manifest.Time{Sec: 1_400_000_000, Nsec: 111_111_111}},
		{"symlink in 2300", manifest.TypeSymlink, 0o777, manifest.Time{Sec: 10_413_792_000, Nsec: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target, path := filepath.Join(dir, "target"), filepath.Join(dir, "x")
			writeAt(t, target, 0, []byte("target"))
			before := lstat(t, target)
			switch tc.typ {
			case manifest.TypeFile:
				writeAt(t, path, 0, []byte("file"))
			case manifest.TypeDir:
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
			case manifest.TypeSymlink:
				if err := os.Symlink(target, path); err != nil {
					t.Fatal(err)
				}
			}
			e := ownEntry(tc.typ, tc.mode, tc.mtime)
			if err := ApplyMeta(path, e); err != nil {
				t.Fatal(err)
			}
			checkMeta(t, path, e)
			if after := lstat(t, target); after.Mode != before.Mode || after.Mtim != before.Mtim {
				t.Errorf("symlink target changed: mode %o mtime %v, was %o %v",
					after.Mode, after.Mtim, before.Mode, before.Mtim)
			}
		})
	}
}

func TestApplyMetaRefusesSymlinkForFile(t *testing.T) {
	dir := t.TempDir()
	target, path := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	writeAt(t, target, 0, []byte("target"))
	if err := os.Chmod(target, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := ApplyMeta(path, ownEntry(manifest.TypeFile, 0o4777, manifest.Time{})); err == nil {
		t.Error("ApplyMeta set a file mode on a symlink")
	}
	if mode := lstat(t, target).Mode & 0o7777; mode != 0o600 {
		t.Errorf("chmod followed the symlink: target mode %o", mode)
	}
}

func TestChmodOPath(t *testing.T) {
	dir := t.TempDir()
	path, link := filepath.Join(dir, "f"), filepath.Join(dir, "link")
	writeAt(t, path, 0, nil)
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if err := chmodOPath(path, 0o2751); err != nil {
		t.Fatal(err)
	}
	if mode := lstat(t, path).Mode & 0o7777; mode != 0o2751 {
		t.Errorf("mode %o, want 2751", mode)
	}
	if err := chmodOPath(link, 0o600); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("chmodOPath on a symlink: %v, want EOPNOTSUPP", err)
	}
	if mode := lstat(t, path).Mode & 0o7777; mode != 0o2751 {
		t.Errorf("chmodOPath followed the symlink: mode %o", mode)
	}
}

func TestApplyMetaXattrs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	writeAt(t, path, 0, nil)
	for name, value := range map[string]string{"user.stale": "old", "user.keep": "old value"} {
		if err := xattr.LSet(path, name, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	e := ownEntry(manifest.TypeFile, 0o644, manifest.Time{Sec: 42})
	e.Xattrs = []manifest.Xattr{
		{Name: "user.empty", Value: []byte{}},
		{Name: "user.keep", Value: []byte("new value")},
		{Name: "user.new", Value: []byte{0, 1, 2, 255}},
	}
	if os.Geteuid() == 0 {
		e.Xattrs = append([]manifest.Xattr{{Name: "trusted.lvback", Value: []byte("t")}}, e.Xattrs...)
	}
	if err := ApplyMeta(path, e); err != nil {
		t.Fatal(err)
	}
	got, err := ListXattrs(path)
	if err != nil {
		t.Fatal(err)
	}
	if !manifest.EqualXattrs(got, e.Xattrs) {
		t.Errorf("xattrs %q, want %q", got, e.Xattrs)
	}
	checkMeta(t, path, e)
}

func TestApplyMetaRemovesInheritedACL(t *testing.T) {
	testsys.RequireTools(t, "setfacl")
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testsys.Run(t, "setfacl", "-d", "-m", "u:12345:rwx", dir)
	path := filepath.Join(dir, "f")
	writeAt(t, path, 0, nil)
	if _, err := xattr.LGet(path, "system.posix_acl_access"); err != nil {
		t.Fatalf("file did not inherit the default ACL: %v", err)
	}
	e := ownEntry(manifest.TypeFile, 0o640, manifest.Time{Sec: 7})
	if err := ApplyMeta(path, e); err != nil {
		t.Fatal(err)
	}
	if got, err := ListXattrs(path); err != nil || len(got) != 0 {
		t.Errorf("xattrs left: %q, %v", got, err)
	}
	checkMeta(t, path, e)
}

func TestApplyMetaCopiesACL(t *testing.T) {
	testsys.RequireTools(t, "setfacl")
	dir := t.TempDir()
	sample, path := filepath.Join(dir, "sample"), filepath.Join(dir, "f")
	writeAt(t, sample, 0, nil)
	writeAt(t, path, 0, nil)
	testsys.Run(t, "setfacl", "-m", "u:12345:r", sample)
	acl, err := xattr.LGet(sample, "system.posix_acl_access")
	if err != nil {
		t.Fatal(err)
	}
	e := ownEntry(manifest.TypeFile, lstat(t, sample).Mode&0o7777, manifest.Time{Sec: 8})
	e.Xattrs = []manifest.Xattr{{Name: "system.posix_acl_access", Value: acl}}
	if err := ApplyMeta(path, e); err != nil {
		t.Fatal(err)
	}
	got, err := ListXattrs(path)
	if err != nil || !manifest.EqualXattrs(got, e.Xattrs) {
		t.Errorf("xattrs %q, %v; want %q", got, err, e.Xattrs)
	}
	checkMeta(t, path, e)
	if getfacl, err := exec.LookPath("getfacl"); err == nil {
		out, err := exec.Command(getfacl, "-cn", path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "user:12345:r--") {
			t.Errorf("getfacl: %v\n%s", err, out)
		}
	}
}

func TestApplyMetaChown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot chown to uid 12345")
	}
	dir := t.TempDir()
	path, link := filepath.Join(dir, "f"), filepath.Join(dir, "link")
	writeAt(t, path, 0, nil)
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	e := &manifest.Entry{Type: manifest.TypeFile, Mode: 0o6755, UID: 12345, GID: 12346, Mtime: manifest.Time{Sec: 9},
		Xattrs: []manifest.Xattr{{Name: "security.capability", Value: netRawCapability()}}}
	if err := ApplyMeta(path, e); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, path); st.Uid != 12345 || st.Gid != 12346 {
		t.Errorf("owner %d:%d, want 12345:12346", st.Uid, st.Gid)
	}
	checkMeta(t, path, e) // setuid and setgid survive the chown
	if got, err := ListXattrs(path); err != nil || !manifest.EqualXattrs(got, e.Xattrs) {
		t.Errorf("xattrs %q, %v; want %q (chown clears security.capability)", got, err, e.Xattrs)
	}

	l := &manifest.Entry{Type: manifest.TypeSymlink, UID: 23456, GID: 23457, Mtime: manifest.Time{Sec: 10}}
	if err := ApplyMeta(link, l); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, link); st.Uid != 23456 || st.Gid != 23457 {
		t.Errorf("symlink owner %d:%d, want 23456:23457", st.Uid, st.Gid)
	}
	if st := lstat(t, path); st.Uid != 12345 {
		t.Errorf("chown followed the symlink: target owner %d", st.Uid)
	}
}

// netRawCapability returns a security.capability value (VFS_CAP_REVISION_2,
// effective) granting CAP_NET_RAW.
func netRawCapability() []byte {
	v := make([]byte, 20)
	binary.LittleEndian.PutUint32(v[0:], 0x02000000|1)
	binary.LittleEndian.PutUint32(v[4:], 1<<unix.CAP_NET_RAW)
	return v
}

func TestApplyMetaNotPermitted(t *testing.T) {
	if !runsUnprivileged(t) {
		return
	}
	path := filepath.Join(t.TempDir(), "f")
	writeAt(t, path, 0, nil)
	e := &manifest.Entry{Type: manifest.TypeFile, Mode: 0o640, UID: 12345, GID: 12345, Mtime: manifest.Time{Sec: 11},
		Xattrs: []manifest.Xattr{{Name: "trusted.t", Value: []byte("t")}, {Name: "user.u", Value: []byte("u")}}}
	err := ApplyMeta(path, e)
	if !errors.Is(err, ErrNotPermitted) {
		t.Errorf("ApplyMeta as uid %d: %v, want ErrNotPermitted", os.Geteuid(), err)
	}
	checkMeta(t, path, e)
	want := []manifest.Xattr{{Name: "user.u", Value: []byte("u")}}
	if got, err := ListXattrs(path); err != nil || !manifest.EqualXattrs(got, want) {
		t.Errorf("xattrs %q, %v; want %q", got, err, want)
	}
}

func TestListXattrs(t *testing.T) {
	dir := t.TempDir()
	path, link := filepath.Join(dir, "f"), filepath.Join(dir, "link")
	writeAt(t, path, 0, nil)
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	want := []manifest.Xattr{
		{Name: "user.a", Value: []byte("1")},
		{Name: "user.b", Value: randomBytes(3, 2000)},
		{Name: "user.c", Value: []byte{}},
		{Name: "user.d", Value: []byte("4")},
	}
	for _, i := range []int{3, 1, 0, 2} {
		if err := xattr.LSet(path, want[i].Name, want[i].Value); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := ListXattrs(path); err != nil || !manifest.EqualXattrs(got, want) {
		t.Errorf("ListXattrs = %q, %v; want %q", got, err, want)
	}

	var wantLink []manifest.Xattr // user.* is not allowed on a symlink
	if os.Geteuid() == 0 {
		wantLink = []manifest.Xattr{{Name: "trusted.link", Value: []byte("l")}}
		if err := xattr.LSet(link, "trusted.link", []byte("l")); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := ListXattrs(link); err != nil || !manifest.EqualXattrs(got, wantLink) {
		t.Errorf("ListXattrs(symlink) = %q, %v; want %q", got, err, wantLink)
	}
}
