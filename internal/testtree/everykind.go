package testtree

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// EveryKind returns a tree holding every kind of object and metadata lvback
// must keep, the same on every call for the same privileges: regular files
// (empty, small, 3 MiB random), a 64 MiB sparse file with data at two
// offsets, empty and nested directories, relative, dangling and absolute
// symlinks, three names for one inode (one in another directory), two equal
// files that are not linked, a FIFO, a socket, setuid, setgid and sticky
// modes, nanosecond mtimes on files, directories and symlinks, user.* xattrs
// and odd names ("with space", "ünïcödé", "new\nline", invalid UTF-8, 255
// bytes, "-rf", names that sort differently bytewise and component-wise).
//
// Some parts depend on the process and are logged when left out: owners
// 1234:5678 and trusted.*/security.* xattrs need root, device nodes need
// CanMknod, a POSIX ACL needs setfacl.
func EveryKind(t testing.TB) Dir {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{'e', 'v', 'e', 'r', 'y'})
	data := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rng.Read(b)
		return b
	}
	at := func(i int) time.Time { // distinct nanosecond mtimes
		return time.Unix(1600000000+int64(i)*86400, 123456789+int64(i))
	}
	root := Dir{Mode: 0o755, Mtime: at(0), Xattrs: map[string][]byte{"user.root": []byte("top")}}
	root.Entries = map[string]Node{
		"empty":     File{Mtime: at(1)},
		"small.txt": File{Content: []byte("hello, world\n"), Mtime: at(2)},
		"big.bin":   File{Content: data(3 << 20), Mode: 0o600, Mtime: at(3)},
		"sparse.img": File{Sparse: true, SparseSize: 64 << 20, SparseOffset: 1 << 20,
			Content: data(4 << 10), Extra: []Extent{{Offset: 40<<20 + 123, Data: data(8 << 10)}},
			Mtime: at(4)},
		"emptydir": Dir{Mtime: at(5)},
		"nested": Dir{Mode: 0o750, Mtime: at(6), Entries: map[string]Node{
			"a": Dir{Mtime: at(7), Entries: map[string]Node{
				"b": Dir{Mtime: at(8), Entries: map[string]Node{
					"deep.txt": File{Content: []byte("deep\n"), Mtime: at(9)},
				}},
			}},
		}},
		"symlink":   Symlink{Target: "small.txt", Mtime: at(10)},
		"dangling":  Symlink{Target: "no/such/file", Mtime: at(11)},
		"absolute":  Symlink{Target: "/etc/passwd", Mtime: at(12)},
		"dirlink":   Symlink{Target: "nested/a", Mtime: at(13)},
		"hardlink":  File{Content: []byte("three names\n"), Mtime: at(14)},
		"hardlink2": Hardlink{To: "hardlink"},
		// Equal in every way but not linked: they must stay two inodes.
		"twin-a": File{Content: []byte("twin\n"), Mtime: at(41)},
		"twin-b": File{Content: []byte("twin\n"), Mtime: at(41)},
		"links": Dir{Mtime: at(15), Entries: map[string]Node{
			"hardlink3": Hardlink{To: "hardlink"},
		}},
		"fifo":   FIFO{Mode: 0o640, Mtime: at(16)},
		"socket": Socket{Mode: 0o755, Mtime: at(17)},
		"setuid": File{Content: []byte("#!/bin/sh\n"), Mode: 0o755 | os.ModeSetuid, Mtime: at(18)},
		"setgid": File{Content: []byte("#!/bin/sh\n"), Mode: 0o755 | os.ModeSetgid, Mtime: at(19)},
		"sticky": Dir{Mode: 0o777 | os.ModeSticky, Mtime: at(20), Entries: map[string]Node{
			"f": File{Mtime: at(21)},
		}},
		"xattrs": File{Content: []byte("x\n"), Mtime: at(22), Xattrs: map[string][]byte{
			"user.text":   []byte("value"),
			"user.empty":  {},
			"user.binary": {0, 1, 0xfe, 0xff, 0},
			"user.large":  data(1500), // ext4 keeps all of an inode's xattrs in one 4 KiB block
		}},
		"xattrdir": Dir{Mtime: at(23), Xattrs: map[string][]byte{"user.dir": []byte("d")}},
		"odd": Dir{Mtime: at(24), Entries: map[string]Node{
			"with space":             File{Mtime: at(25)},
			"ünïcödé":                File{Content: []byte("ü"), Mtime: at(26)},
			"new\nline":              File{Mtime: at(27)},
			"bad\xff\xfe":            File{Content: []byte{0xff}, Mtime: at(28)},
			strings.Repeat("L", 255): File{Mtime: at(29)},
			"-rf":                    File{Mtime: at(30)},
			"\tleading tab":          Symlink{Target: "-rf", Mtime: at(31)},
			"trailing space ":        Dir{Mtime: at(32)},
			strings.Repeat("é", 127): Dir{Mtime: at(33)}, // 254 bytes
		}},
		// Depth first with bytewise siblings: a, a/b, a-b, a.b, a0, b.
		"order": Dir{Mtime: at(34), Entries: map[string]Node{
			"a":   Dir{Mtime: at(35), Entries: map[string]Node{"b": File{Mtime: at(36)}}},
			"a.b": File{Mtime: at(37)},
			"a-b": File{Mtime: at(38)},
			"a0":  Dir{Mtime: at(39)},
			"b":   File{Mtime: at(40)},
		}},
	}
	addPrivileged(t, &root, at)
	return root
}

// addPrivileged adds what only some processes can create, logging the rest.
func addPrivileged(t testing.TB, root *Dir, at func(int) time.Time) {
	t.Helper()
	e := root.Entries
	if isRoot() {
		e["owned"] = File{Content: []byte("mine\n"), UID: 1234, GID: 5678, Mtime: at(50)}
		e["owned-setuid"] = File{Mode: 0o750 | os.ModeSetuid, UID: 1234, GID: 5678, Mtime: at(51)}
		e["owned-dir"] = Dir{UID: 1234, GID: 5678, Mode: 0o700, Mtime: at(52), Entries: map[string]Node{
			"link": Symlink{Target: "..", UID: 1234, GID: 5678, Mtime: at(53)},
		}}
		x := e["xattrs"].(File)
		x.Xattrs["trusted.lvback"] = []byte("trusted")
		x.Xattrs["security.lvback"] = []byte("security")
		e["xattrs"] = x
	} else {
		t.Logf("testtree: not root: EveryKind has no owners or trusted/security xattrs")
	}
	if CanMknod() {
		e["chardev"] = Device{Char: true, Major: 1, Minor: 3, Mode: 0o666, Mtime: at(54)}
		e["blockdev"] = Device{Major: 7, Minor: 200, Mode: 0o660, Mtime: at(55)}
	} else {
		t.Logf("testtree: cannot mknod: EveryKind has no device nodes")
	}
	if _, err := exec.LookPath("setfacl"); err == nil {
		e["acl"] = File{Content: []byte("acl\n"), Mode: 0o640, Mtime: at(56), ACL: "u:1234:rw-,g:5678:r--"}
		e["acl-dir"] = Dir{Mtime: at(57), ACL: "u:1234:rwx,d:u:1234:r-x,d:g::r-x"}
	} else {
		t.Logf("testtree: setfacl not installed: EveryKind has no ACLs")
	}
}
