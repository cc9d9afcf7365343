package testtree

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCreateEveryKind checks Create's result directly (not through rsync),
// so that the oracle is not trusted to check the trees it is fed.
func TestCreateEveryKind(t *testing.T) {
	a := t.TempDir()
	Create(t, a, EveryKind(t))
	p := func(rel string) string { return filepath.Join(a, filepath.FromSlash(rel)) }
	checkContent(t, p)
	checkMeta(t, p)
	checkPrivileged(t, p)
	if n := countEntries(t, a); n < 45 {
		t.Errorf("EveryKind created %d entries, want at least 45", n)
	}
}

func checkContent(t *testing.T, p func(string) string) {
	t.Helper()
	if !SameInode(t, p("hardlink"), p("hardlink2")) || !SameInode(t, p("hardlink"), p("links/hardlink3")) {
		t.Error("hardlink, hardlink2 and links/hardlink3 are not one inode")
	}
	if SameInode(t, p("hardlink"), p("small.txt")) {
		t.Error("SameInode of two files is true")
	}
	if st := lstat(t, p("sparse.img")); st.Size != 64<<20 || st.Blocks*512 > 1<<20 {
		t.Errorf("sparse.img: size %d, %d blocks; want 64 MiB with under 1 MiB allocated", st.Size, st.Blocks)
	}
	if got, want := Blocks(t, p("big.bin")), int64(3<<20/512); got < want {
		t.Errorf("big.bin: %d blocks, want at least %d", got, want)
	}
	data, err := os.ReadFile(p("sparse.img"))
	if err != nil {
		t.Fatal(err)
	}
	f := EveryKind(t).Entries["sparse.img"].(File)
	if !bytes.Equal(data[1<<20:1<<20+4096], f.Content) || !bytes.Equal(data[40<<20+123:40<<20+123+8192], f.Extra[0].Data) ||
		bytes.Count(data, []byte{0}) < len(data)-len(f.Content)-len(f.Extra[0].Data) {
		t.Error("sparse.img has the wrong content")
	}
	if target, err := os.Readlink(p("odd/\tleading tab")); err != nil || target != "-rf" {
		t.Errorf("odd/\\tleading tab -> %q, %v; want -rf", target, err)
	}
}

func checkMeta(t *testing.T, p func(string) string) {
	t.Helper()
	modes := map[string]uint32{
		"":          unix.S_IFDIR | 0o755,
		"small.txt": unix.S_IFREG | 0o644,
		"big.bin":   unix.S_IFREG | 0o600,
		"nested":    unix.S_IFDIR | 0o750,
		"emptydir":  unix.S_IFDIR | 0o755,
		"setuid":    unix.S_IFREG | unix.S_ISUID | 0o755,
		"setgid":    unix.S_IFREG | unix.S_ISGID | 0o755,
		"sticky":    unix.S_IFDIR | unix.S_ISVTX | 0o777,
		"fifo":      unix.S_IFIFO | 0o640,
		"socket":    unix.S_IFSOCK | 0o755,
		"symlink":   unix.S_IFLNK | 0o777,
	}
	for rel, want := range modes {
		if got := lstat(t, p(rel)).Mode; got != want {
			t.Errorf("%q: mode %o, want %o", rel, got, want)
		}
	}
	for rel, want := range map[string]time.Time{
		"":                time.Unix(1600000000, 123456789),
		"nested/a":        time.Unix(1600000000+7*86400, 123456789+7),
		"symlink":         time.Unix(1600000000+10*86400, 123456789+10),
		"links/hardlink3": time.Unix(1600000000+14*86400, 123456789+14),
		"odd/new\nline":   time.Unix(1600000000+27*86400, 123456789+27),
	} {
		if got := time.Unix(lstat(t, p(rel)).Mtim.Unix()); !got.Equal(want) {
			t.Errorf("%q: mtime %v, want %v", rel, got, want)
		}
	}
	for name, want := range map[string]string{"user.text": "value", "user.empty": ""} {
		if got := getxattr(t, p("xattrs"), name); got != want {
			t.Errorf("xattrs %s = %q, want %q", name, got, want)
		}
	}
}

func checkPrivileged(t *testing.T, p func(string) string) {
	t.Helper()
	if isRoot() {
		if st := lstat(t, p("owned-dir/link")); st.Uid != 1234 || st.Gid != 5678 {
			t.Errorf("owned-dir/link owned by %d:%d, want 1234:5678", st.Uid, st.Gid)
		}
		if st := lstat(t, p("owned-setuid")); st.Mode != unix.S_IFREG|unix.S_ISUID|0o750 {
			t.Errorf("owned-setuid: mode %o, the chown cleared setuid", st.Mode)
		}
		if got := getxattr(t, p("xattrs"), "trusted.lvback"); got != "trusted" {
			t.Errorf("trusted.lvback = %q", got)
		}
	}
	if CanMknod() {
		if st := lstat(t, p("chardev")); st.Mode != unix.S_IFCHR|0o666 || st.Rdev != unix.Mkdev(1, 3) {
			t.Errorf("chardev: mode %o rdev %x", st.Mode, st.Rdev)
		}
	}
	if _, err := exec.LookPath("setfacl"); err == nil {
		if !strings.Contains(getfacl(t, p("acl-dir")), "default:user:1234:r-x") {
			t.Errorf("acl-dir has no default ACL:\n%s", getfacl(t, p("acl-dir")))
		}
	}
}

// TestCopyIsIdentical: a Copy is identical to its source for RsyncDiff,
// keeps holes and keeps hard links.
func TestCopyIsIdentical(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	Create(t, a, EveryKind(t))
	Copy(t, a, b)
	if d := RsyncDiff(t, a, b); d != "" {
		t.Fatalf("a copy differs:\n%s", d)
	}
	if got := Blocks(t, filepath.Join(b, "sparse.img")); got*512 > 1<<20 {
		t.Errorf("copied sparse.img has %d blocks allocated", got)
	}
	if !SameInode(t, filepath.Join(b, "hardlink"), filepath.Join(b, "links", "hardlink3")) {
		t.Error("the copy lost a hard link")
	}
}

// TestEveryKindUnprivileged: EveryKind, Create, Copy and RsyncDiff work
// for a user who may not chown, mknod or set trusted.* xattrs.
func TestEveryKindUnprivileged(t *testing.T) {
	if !Unprivileged(t) {
		return
	}
	a, b := t.TempDir(), t.TempDir()
	Create(t, a, EveryKind(t))
	Copy(t, a, b)
	if d := RsyncDiff(t, a, b); d != "" {
		t.Fatalf("a copy differs:\n%s", d)
	}
	if err := os.Chmod(filepath.Join(b, "small.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if d := RsyncDiff(t, a, b); d == "" {
		t.Fatal("a chmod went unnoticed")
	}
}

func TestRandom(t *testing.T) {
	const n = 700
	r := Random(7, n)
	if !reflect.DeepEqual(r, Random(7, n)) {
		t.Fatal("Random(7) differs between calls")
	}
	if reflect.DeepEqual(r, Random(8, n)) {
		t.Fatal("Random(7) and Random(8) are equal")
	}
	dir := t.TempDir()
	Create(t, dir, r)
	if got := countEntries(t, dir); got != n {
		t.Fatalf("Random(7, %d) created %d entries", n, got)
	}
}

func countEntries(t *testing.T, root string) int {
	t.Helper()
	n := -1 // not the root
	err := filepath.WalkDir(root, func(string, fs.DirEntry, error) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func getxattr(t *testing.T, path, name string) string {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Lgetxattr(path, name, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", path, name, err)
	}
	return string(buf[:n])
}

func getfacl(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("getfacl", "-n", "--", path).CombinedOutput()
	if err != nil {
		t.Fatalf("getfacl %s: %v\n%s", path, err, out)
	}
	return string(out)
}

// change is one mutation of a copy of EveryKind that RsyncDiff must report.
type change struct {
	name   string
	needs  func() bool // nil: always possible
	change func(t *testing.T, b string)
	want   string // regexp the difference must match
}

func hasSetfacl() bool {
	_, err := exec.LookPath("setfacl")
	return err == nil
}

var changes = []change{
	{name: "chmod", change: func(t *testing.T, b string) {
		check(t, os.Chmod(filepath.Join(b, "small.txt"), 0o640))
	}, want: `(?m)^\.f\.\.\.p\.{5} small\.txt$`},
	{name: "setuid bit cleared", change: func(t *testing.T, b string) {
		check(t, os.Chmod(filepath.Join(b, "setuid"), 0o755))
	}, want: `(?m)^\.f\.\.\.p\.{5} setuid$`},
	{name: "sticky bit cleared", change: func(t *testing.T, b string) {
		check(t, os.Chmod(filepath.Join(b, "sticky"), 0o777))
	}, want: `(?m)^\.d\.\.\.p\.{5} sticky/$`},
	{name: "xattr value", change: func(t *testing.T, b string) {
		check(t, unix.Lsetxattr(filepath.Join(b, "xattrs"), "user.text", []byte("valuf"), 0))
	}, want: `(?m)^\.f\.{8}x xattrs$`},
	{name: "empty xattr removed", change: func(t *testing.T, b string) {
		check(t, unix.Lremovexattr(filepath.Join(b, "xattrs"), "user.empty"))
	}, want: `(?m)^\.f\.{8}x xattrs$`},
	{name: "xattr added to a directory", change: func(t *testing.T, b string) {
		check(t, unix.Lsetxattr(filepath.Join(b, "emptydir"), "user.new", nil, 0))
	}, want: `(?m)^\.d\.{8}x emptydir/$`},
	{name: "trusted xattr", needs: isRoot, change: func(t *testing.T, b string) {
		check(t, unix.Lsetxattr(filepath.Join(b, "xattrs"), "trusted.lvback", []byte("trustee"), 0))
	}, want: `(?m)^\.f\.{8}x xattrs$`},
	{name: "file mtime 1ns", change: func(t *testing.T, b string) {
		nudgeMtime(t, filepath.Join(b, "hardlink2"))
	}, want: `(?m)^\.f\.\.t\.{6} hardlink$`},
	{name: "directory mtime 1ns", change: func(t *testing.T, b string) {
		nudgeMtime(t, filepath.Join(b, "nested", "a"))
	}, want: `(?m)^\.d\.\.t\.{6} nested/a/$`},
	{name: "root mtime 1ns", change: func(t *testing.T, b string) {
		nudgeMtime(t, b)
	}, want: `(?m)^\.d\.\.t\.{6} \./$`},
	{name: "symlink mtime 1ns", change: func(t *testing.T, b string) {
		nudgeMtime(t, filepath.Join(b, "symlink"))
	}, want: `(?m)^\.L\.\.t\.{6} symlink -> small\.txt$`},
	{name: "content byte, same size and mtime", change: func(t *testing.T, b string) {
		rewrite(t, filepath.Join(b, "big.bin"), 40000)
	}, want: `(?m)^>fc\.{8} big\.bin$`},
	{name: "byte written into a hole", change: func(t *testing.T, b string) {
		rewrite(t, filepath.Join(b, "sparse.img"), 8<<20)
	}, want: `(?m)^>fc\.{8} sparse\.img$`},
	{name: "symlink target", change: func(t *testing.T, b string) {
		replace(t, filepath.Join(b, "symlink"), func(p string) error { return os.Symlink("small.tx0", p) })
	}, want: `(?m)^cLc\.{8} symlink -> small\.txt$`},
	{name: "extra file", change: func(t *testing.T, b string) {
		replace(t, filepath.Join(b, "nested", "extra"), func(p string) error { return os.WriteFile(p, nil, 0o644) })
	}, want: `(?m)^\*deleting +nested/extra$`},
	{name: "missing file", change: func(t *testing.T, b string) {
		replace(t, filepath.Join(b, "odd", "-rf"), nil)
	}, want: `(?m)^>f\+{9} odd/-rf$`},
	{name: "fifo became a regular file", change: func(t *testing.T, b string) {
		replace(t, filepath.Join(b, "fifo"), func(p string) error { return os.WriteFile(p, nil, 0o640) })
	}, want: `(?m)^cS\+{9} fifo$`},
	{name: "hard link broken into two files", change: func(t *testing.T, b string) {
		replace(t, filepath.Join(b, "links", "hardlink3"), func(p string) error {
			return exec.Command("cp", "-p", filepath.Join(b, "hardlink"), p).Run()
		})
	}, want: `(?m)^hf +links/hardlink3 => hardlink$`},
	{name: "equal files linked", change: func(t *testing.T, b string) {
		replace(t, filepath.Join(b, "twin-b"), func(p string) error { return os.Link(filepath.Join(b, "twin-a"), p) })
	}, want: `(?m)^hf +twin-b => twin-a$`},
	{name: "owner", needs: isRoot, change: func(t *testing.T, b string) {
		check(t, os.Lchown(filepath.Join(b, "owned-dir", "link"), 1235, -1))
	}, want: `(?m)^\.L\.{4}o\.{4} owned-dir/link -> \.\.$`},
	{name: "group", needs: isRoot, change: func(t *testing.T, b string) {
		check(t, os.Lchown(filepath.Join(b, "owned"), -1, 5679))
	}, want: `(?m)^\.f\.{5}g\.{3} owned$`},
	{name: "ACL entry", needs: hasSetfacl, change: func(t *testing.T, b string) {
		out, err := exec.Command("setfacl", "-m", "u:1234:r--", filepath.Join(b, "acl")).CombinedOutput()
		check(t, err, string(out))
	}, want: `(?m)^\.f\.{7}a\. acl$`},
	{name: "default ACL entry", needs: hasSetfacl, change: func(t *testing.T, b string) {
		out, err := exec.Command("setfacl", "-x", "d:u:1234", filepath.Join(b, "acl-dir")).CombinedOutput()
		check(t, err, string(out))
	}, want: `(?m)^\.d\.{7}a\. acl-dir/$`},
	{name: "device number", needs: CanMknod, change: func(t *testing.T, b string) {
		p := filepath.Join(b, "chardev")
		replace(t, p, func(p string) error {
			return errors.Join(unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))), os.Chmod(p, 0o666))
		})
	}, want: `(?m)^cDc\.{8} chardev$`},
}

// TestRsyncDiffCatches: every kind of difference lvback must not have is
// reported, each alone (times of the touched parents are restored).
func TestRsyncDiffCatches(t *testing.T) {
	a := t.TempDir()
	Create(t, a, smallEveryKind(t))
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.needs != nil && !c.needs() {
				t.Skip("not possible for this process")
			}
			b := t.TempDir()
			Copy(t, a, b)
			c.change(t, b)
			d := RsyncDiff(t, a, b)
			if !regexp.MustCompile(c.want).MatchString(d) {
				t.Errorf("RsyncDiff does not match %s:\n%s", c.want, d)
			}
		})
	}
}

// smallEveryKind is EveryKind with its two large files made small, so each
// of the many copies and comparisons takes little time.
func smallEveryKind(t *testing.T) Dir {
	d := EveryKind(t)
	big := d.Entries["big.bin"].(File)
	big.Content = big.Content[:64<<10]
	d.Entries["big.bin"] = big
	sparse := d.Entries["sparse.img"].(File)
	sparse.SparseSize, sparse.SparseOffset, sparse.Extra[0].Offset = 16<<20, 4<<10, 12<<20+123
	d.Entries["sparse.img"] = sparse
	return d
}

func check(t *testing.T, err error, context ...string) {
	t.Helper()
	if err != nil {
		t.Fatal(err, strings.Join(context, " "))
	}
}

func mtime(t *testing.T, path string) unix.Timespec {
	t.Helper()
	return lstat(t, path).Mtim
}

func setMtime(t *testing.T, path string, ts unix.Timespec) {
	t.Helper()
	check(t, unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
}

// nudgeMtime moves the mtime of path (not following a symlink) by 1ns.
func nudgeMtime(t *testing.T, path string) {
	t.Helper()
	ts := mtime(t, path)
	ts.Nsec ^= 1
	setMtime(t, path, ts)
}

// rewrite changes the byte at off in place, keeping size and mtime, so only
// a content comparison can notice.
func rewrite(t *testing.T, path string, off int64) {
	t.Helper()
	before := *lstat(t, path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	check(t, err)
	defer f.Close()
	b := []byte{0}
	_, err = f.ReadAt(b, off)
	check(t, err)
	b[0] ^= 0x55
	_, err = f.WriteAt(b, off)
	check(t, err)
	setMtime(t, path, before.Mtim)
	if after := lstat(t, path); after.Size != before.Size || after.Mtim != before.Mtim {
		t.Fatalf("%s changed size or mtime", path)
	}
}

// replace removes path if it exists and, unless create is nil, creates it
// anew with create and gives it the old mtime; the parent's mtime is kept.
func replace(t *testing.T, path string, create func(string) error) {
	t.Helper()
	parent := mtime(t, filepath.Dir(path))
	var st unix.Stat_t
	existed := unix.Lstat(path, &st) == nil
	if existed {
		check(t, os.Remove(path))
	}
	if create != nil {
		check(t, create(path))
		if existed {
			setMtime(t, path, st.Mtim)
		}
	}
	setMtime(t, filepath.Dir(path), parent)
}
