package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/testtree"
)

// browseSource makes a source tree with a nested directory, a hard-link
// pair, a symlink, a fifo, an xattr and (as root) foreign owners.
func browseSource(t *testing.T, src string) {
	t.Helper()
	for _, d := range []string{"etc/ssh", "data"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"etc/fstab": "/dev/vg/root / ext4 defaults 0 1\n", "etc/hosts": "127.0.0.1 localhost\n",
		"etc/ssh/sshd_config": "PermitRootLogin no\n", "data/a": strings.Repeat("a", 100_000)}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.Link(filepath.Join(src, "data/a"), filepath.Join(src, "data/b")))
	must(t, os.Symlink("../etc/hosts", filepath.Join(src, "data/link")))
	must(t, unix.Mkfifo(filepath.Join(src, "data/fifo"), 0o600))
	must(t, unix.Setxattr(filepath.Join(src, "etc/hosts"), "user.origin", []byte("test"), 0))
	must(t, os.Chmod(filepath.Join(src, "etc/ssh"), 0o2750))
	if os.Geteuid() == 0 {
		must(t, os.Lchown(filepath.Join(src, "etc/hosts"), 1234, 5678))
		must(t, os.Lchown(filepath.Join(src, "data/link"), 4321, 8765))
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)
	must(t, os.Chtimes(filepath.Join(src, "etc/fstab"), old, old))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// browseBackup backs src up as volume "vol" of a new repository.
func browseBackup(t *testing.T, repoPath, src string) {
	t.Helper()
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "vol", "--source", src); code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, e)
	}
}

func lsJSON(t *testing.T, args ...string) []engine.BrowseEntry {
	t.Helper()
	code, out, e := run(t, append([]string{"ls", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("ls %v: exit %d: %s", args, code, e)
	}
	var es []engine.BrowseEntry
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var be engine.BrowseEntry
		must(t, dec.Decode(&be))
		es = append(es, be)
	}
	return es
}

func paths(es []engine.BrowseEntry) string {
	var ps []string
	for _, e := range es {
		ps = append(ps, e.Path)
	}
	return strings.Join(ps, " ")
}

func TestLsCommand(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	r := []string{"--repo", repoPath, "--name", "vol"}

	if got := paths(lsJSON(t, append(r, "/etc")...)); got != "/etc/fstab /etc/hosts /etc/ssh" {
		t.Errorf("ls /etc: %s", got)
	}
	if got := paths(lsJSON(t, r...)); got != "/data /etc" {
		t.Errorf("ls: %s", got)
	}
	if got := paths(lsJSON(t, append(r, "--recursive", "etc/")...)); got != "/etc/fstab /etc/hosts /etc/ssh /etc/ssh/sshd_config" {
		t.Errorf("ls --recursive etc/: %s", got)
	}
	// -l's fields and the JSON ones against os.Lstat of the source.
	for _, e := range lsJSON(t, append(r, "--recursive")...) {
		fi, err := os.Lstat(filepath.Join(src, e.Path))
		must(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		if e.ModeString() != statMode(t, filepath.Join(src, e.Path)) || e.UID != st.Uid || e.GID != st.Gid || !e.Mtime.Equal(fi.ModTime()) ||
			(fi.Mode().IsRegular() && e.Size != fi.Size()) {
			t.Errorf("%s: ls says %v %d:%d %d %v, lstat %v %d:%d %d %v", e.Path, e.ModeString(), e.UID, e.GID, e.Size, e.Mtime,
				fi.Mode(), st.Uid, st.Gid, fi.Size(), fi.ModTime())
		}
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(filepath.Join(src, e.Path))
			if e.Hash != fmt.Sprintf("%x", blake3.Sum256(data)) {
				t.Errorf("%s: hash %s", e.Path, e.Hash)
			}
		}
	}
	fi, _ := os.Lstat(filepath.Join(src, "etc/hosts"))
	code, out, _ := run(t, append([]string{"ls", "-l", "/etc/hosts"}, r...)...)
	st := fi.Sys().(*syscall.Stat_t)
	want := fmt.Sprintf("%s %6d %6d %12d %s /etc/hosts\n", statMode(t, filepath.Join(src, "etc/hosts")), st.Uid, st.Gid, fi.Size(), fi.ModTime().Local().Format(time.DateTime))
	if code != exitOK || out != want {
		t.Errorf("ls -l /etc/hosts: exit %d\n got %q\nwant %q", code, out, want)
	}
	if code, out, _ := run(t, append([]string{"ls", "/data/link"}, r...)...); code != exitOK || out != "/data/link\n" {
		t.Errorf("ls of a symlink: exit %d %q", code, out)
	}
	for _, bad := range [][]string{
		append([]string{"ls", "/etc/nope"}, r...),
		append([]string{"ls", "/data/link/hosts"}, r...), // through a symlink
		append([]string{"ls", "--id", "2001-01-01T000000Z"}, r...),
		{"ls", "--repo", repoPath, "--name", "other"},
		{"ls", "--repo", repoPath, "--name", "../x"},
		{"ls", "--name", "vol"},
	} {
		code, out, e := run(t, bad...)
		if code != exitUsage || out != "" || strings.Count(e, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", bad, code, out, e)
		}
	}
}

func findJSON(t *testing.T, args ...string) []engine.FindMatch {
	t.Helper()
	code, out, e := run(t, append([]string{"find", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("find %v: exit %d: %s", args, code, e)
	}
	var ms []engine.FindMatch
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var m engine.FindMatch
		must(t, dec.Decode(&m))
		ms = append(ms, m)
	}
	return ms
}

// versions renders find's matches as "PATH ID-index changed" lines.
func versions(ms []engine.FindMatch, ids []string) string {
	var lines []string
	for _, m := range ms {
		i := strings.Index(strings.Join(ids, " "), m.ID) / (len(ids[0]) + 1)
		lines = append(lines, fmt.Sprintf("%s %d %v", m.Path, i, m.Changed))
	}
	return strings.Join(lines, "\n")
}

func TestFindVersions(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	fstab := filepath.Join(src, "etc/fstab")
	for i, content := range []string{"", "/dev/vg/root / xfs defaults 0 1\n", ""} {
		if content != "" {
			must(t, os.WriteFile(fstab, []byte(content), 0o640))
		}
		browseBackup(t, repoPath, src)
		if i < 2 {
			time.Sleep(1100 * time.Millisecond) // one backup id per second
		}
	}
	var ids []string
	for _, it := range mustList(t, repoPath) {
		ids = append(ids, it.ID)
	}
	want := "/etc/fstab 0 false\n/etc/fstab 1 true\n/etc/fstab 2 false"
	for _, pat := range []string{"fstab", "/etc/fstab", "etc/fst?b", "**/fstab"} {
		ms := findJSON(t, "--repo", repoPath, pat)
		if got := versions(ms, ids); got != want {
			t.Errorf("find %s:\n%s\nwant\n%s", pat, got, want)
		}
		if len(ms) == 3 && (ms[0].Hash == ms[1].Hash || ms[1].Hash != ms[2].Hash || ms[1].Size != 32) {
			t.Errorf("find %s: hashes %s %s %s", pat, ms[0].Hash, ms[1].Hash, ms[2].Hash)
		}
	}
	if ms := findJSON(t, "--repo", repoPath, "/fstab"); len(ms) != 0 {
		t.Errorf("find /fstab (anchored at the root) matched %v", ms)
	}
	got := versions(findJSON(t, "--repo", repoPath, "--name", "vol", "hosts", "sshd_*"), ids)
	if want := "/etc/hosts 0 false\n/etc/hosts 1 false\n/etc/hosts 2 false\n" +
		"/etc/ssh/sshd_config 0 false\n/etc/ssh/sshd_config 1 false\n/etc/ssh/sshd_config 2 false"; got != want {
		t.Errorf("two patterns:\n%s\nwant\n%s", got, want)
	}
	if got := versions(findJSON(t, "--repo", repoPath, "--newest", "2", "fstab"), ids); got != "/etc/fstab 1 false\n/etc/fstab 2 false" {
		t.Errorf("--newest 2:\n%s", got)
	}
	code, out, _ := run(t, "find", "--repo", repoPath, "fstab")
	if lines := strings.Split(out, "\n"); code != exitOK || len(lines) != 5 || lines[0] != "/etc/fstab (vol)" ||
		!strings.HasPrefix(lines[2], "* "+ids[1]) || !strings.HasPrefix(lines[3], "  "+ids[2]) {
		t.Errorf("find text: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{{"find", "--repo", repoPath, "--name", "nope", "x"}, {"find", "--repo", repoPath},
		{"find", "--repo", repoPath, "!x"}, {"find", "--repo", repoPath, "a/../b"}, {"find", "x"}} {
		if code, out, e := run(t, bad...); code != exitUsage || out != "" || strings.Count(e, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", bad, code, out, e)
		}
	}
}

func mustList(t *testing.T, repoPath string) []listItem {
	t.Helper()
	_, out, _ := run(t, "list", "--repo", repoPath, "--json")
	var items []listItem
	must(t, json.Unmarshal([]byte(out), &items))
	return items
}

func TestDumpFile(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initTamperRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	code, out, e := run(t, "dump", "--repo", repoPath, "--name", "vol", "/data/a")
	want, _ := os.ReadFile(filepath.Join(src, "data/a"))
	if code != exitOK || sha256.Sum256([]byte(out)) != sha256.Sum256(want) {
		t.Fatalf("dump /data/a: exit %d, %d bytes: %s", code, len(out), e)
	}
	// The tree's copy changes behind lvback's back: the bytes go out, then exit 1.
	tree := filepath.Join(mustList(t, repoPath)[0].Path, "etc/fstab")
	damaged := []byte(strings.ToUpper(string(mustRead(t, tree))))
	must(t, os.WriteFile(tree, damaged, 0o640))
	code, out, e = run(t, "dump", "--repo", repoPath, "--name", "vol", "/etc/fstab")
	if code != exitFailed || out != string(damaged) || strings.Count(e, "\n") != 1 ||
		!strings.Contains(e, "/etc/fstab") || !strings.Contains(e, "does not match") {
		t.Fatalf("dump of a damaged file: exit %d, stdout %q, stderr %q", code, out, e)
	}
	code, out, e = run(t, "dump", "--repo", repoPath, "--name", "vol", "/etc")
	if code != exitFailed || !strings.Contains(e, "/etc/fstab") || len(out) == 0 || len(out)%512 != 0 {
		t.Fatalf("tar with a damaged file: exit %d, %d bytes, stderr %q", code, len(out), e)
	}
	for _, bad := range [][]string{{"/nope"}, {"/data/fifo"}, {"--id", "2001-01-01T000000Z", "/etc"}, {"--name", "x", "/etc"}} {
		args := append([]string{"dump", "--repo", repoPath, "--name", "vol"}, bad...)
		if code, out, e := run(t, args...); code != exitUsage || out != "" || strings.Count(e, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", bad, code, out, e)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	return data
}

func TestDumpTar(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	for _, c := range []struct{ path, dir string }{{"", ""}, {"/etc", "etc"}} {
		code, out, e := run(t, "dump", "--repo", repoPath, "--name", "vol", c.path)
		if code != exitOK {
			t.Fatalf("dump %q: exit %d: %s", c.path, code, e)
		}
		dst := filepath.Join(t.TempDir(), "x")
		must(t, os.Mkdir(dst, 0o700))
		tar := exec.Command("tar", "-xpf", "-", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-C", dst)
		tar.Stdin = strings.NewReader(out)
		if msg, err := tar.CombinedOutput(); err != nil {
			t.Fatalf("tar: %v: %s", err, msg)
		}
		if d := testtree.RsyncDiff(t, filepath.Join(src, c.dir), filepath.Join(dst, c.dir)); d != "" {
			t.Errorf("dump %q extracted differs:\n%s", c.path, d)
		}
	}
	if !testtree.SameInode(t, filepath.Join(src, "data/a"), filepath.Join(src, "data/b")) {
		t.Fatal("the source's hard-link pair is not one")
	}
}

func TestDumpBlockImage(t *testing.T) {
	base := t.TempDir()
	img := filepath.Join(base, "disk.img")
	data := make([]byte, 9<<20+12345) // a hole in the middle, a short last chunk
	for i := range data {
		if i < 3<<20 || i > 6<<20 {
			data[i] = byte(i * 7 / 3)
		}
	}
	must(t, os.WriteFile(img, data, 0o644))
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, e)
	}
	code, out, e := run(t, "dump", "--repo", repoPath, "--name", "vm")
	if code != exitOK || sha256.Sum256([]byte(out)) != sha256.Sum256(data) {
		t.Fatalf("dump of the image: exit %d, %d bytes: %s", code, len(out), e)
	}
	es := lsJSON(t, "--repo", repoPath, "--name", "vm")
	if len(es) != 1 || es[0].Path != "/vm.img" || es[0].Type != "image" || es[0].Size != int64(len(data)) || es[0].ImageHash == "" {
		t.Fatalf("ls of a block backup: %+v", es)
	}
	if code, out, e := run(t, "dump", "--repo", repoPath, "--name", "vm", "/x"); code != exitUsage || out != "" || strings.Count(e, "\n") != 1 {
		t.Errorf("dump of a path in an image: exit %d, stdout %q, stderr %q", code, out, e)
	}
	// A damaged chunk stops the stream before its bytes, exit 1.
	damageAChunk(t, filepath.Join(repoPath, "chunks"))
	if code, out, e := run(t, "dump", "--repo", repoPath, "--name", "vm"); code != exitFailed || len(out) >= len(data) || !bytes.HasPrefix(data, []byte(out)) {
		t.Errorf("dump of a damaged image: exit %d, %d bytes: %s", code, len(out), e)
	}
}

// damageAChunk flips a byte of the first chunk file below dir.
func damageAChunk(t *testing.T, dir string) {
	t.Helper()
	var first string
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && first == "" && len(fi.Name()) == 64 {
			first = p
		}
		return err
	}))
	if first == "" {
		t.Fatal("no chunk file")
	}
	b := mustRead(t, first)
	b[len(b)/2] ^= 0xff
	must(t, os.Chmod(first, 0o600))
	must(t, os.WriteFile(first, b, 0o600))
}
