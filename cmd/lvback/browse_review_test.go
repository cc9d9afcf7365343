package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/engine"
)

// refused checks that a command line is a usage error: exit 2, nothing on
// stdout, one line on stderr.
func refused(t *testing.T, args ...string) {
	t.Helper()
	if code, out, e := run(t, args...); code != exitUsage || out != "" || strings.Count(e, "\n") != 1 {
		t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, e)
	}
}

// An empty backup id (a script's unset $ID) is refused by every command,
// positional or --id, and changes nothing.
func TestEmptyIDRefused(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	id := mustList(t, repoPath)[0].ID
	r := []string{"--repo", repoPath, "--name", "vol"}
	target := filepath.Join(base, "target")
	for _, args := range [][]string{
		{"protect", ""}, {"unprotect", ""}, {"tag", "--add", "zz", ""}, {"tag", "--add", "zz", id, ""},
		{"dump", "--id", "", "/etc/fstab"}, {"dump", "--id=", "/etc/fstab"}, {"ls", "--id", ""},
		{"restore", "--id", "", "--target", target}, {"diff", "", id}, {"diff", id, ""}, {"verify", "--id", ""},
	} {
		refused(t, append(args[:1:1], append(r, args[1:]...)...)...)
	}
	refused(t, "copy", "--from", repoPath, "--to", initRepo(t, filepath.Join(base, "other")), "--id", "")
	if it := mustList(t, repoPath)[0]; len(it.Tags) != 0 || it.Protected {
		t.Errorf("labels changed: %+v", it)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Errorf("restore --id '' made %s", target)
	}
	if code, _, e := run(t, append([]string{"ls", "--id", "latest"}, r...)...); code != exitOK {
		t.Errorf("ls --id latest: exit %d: %s", code, e)
	}
}

// statMode is GNU stat's %A of path: the mode string ls -l prints.
func statMode(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%A", path).Output()
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// specialSource adds to src a char and a block device (as root), a socket,
// a setuid, a setgid-without-x and a sticky entry, and two symlinks.
func specialSource(t *testing.T, src string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(src, "s"), 0o755))
	if os.Geteuid() == 0 {
		must(t, unix.Mknod(filepath.Join(src, "s/null"), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3))))
		must(t, unix.Mknod(filepath.Join(src, "s/loop"), unix.S_IFBLK|0o644, int(unix.Mkdev(7, 0))))
	}
	must(t, unix.Mknod(filepath.Join(src, "s/sock"), unix.S_IFSOCK|0o755, 0))
	for p, mode := range map[string]uint32{"s/suid": 0o4755, "s/sgid": 0o2644, "s/suidnox": 0o4644} {
		must(t, os.WriteFile(filepath.Join(src, p), []byte("x"), 0o600))
		must(t, unix.Chmod(filepath.Join(src, p), mode))
	}
	must(t, os.Mkdir(filepath.Join(src, "s/tmp"), 0o755))
	must(t, unix.Chmod(filepath.Join(src, "s/tmp"), 0o1777))
	must(t, os.Symlink("../etc/hosts", filepath.Join(src, "s/link")))
}

// ls -l and find print GNU ls's mode strings (checked against stat %A),
// a device's numbers in place of its size, and a symlink's target.
func TestLsModesDevicesTargets(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	specialSource(t, src)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	r := []string{"--repo", repoPath, "--name", "vol"}
	code, out, e := run(t, append([]string{"ls", "-l", "/s"}, r...)...)
	if code != exitOK {
		t.Fatalf("ls -l /s: exit %d: %s", code, e)
	}
	if !strings.Contains(out, " /s/link -> ../etc/hosts\n") {
		t.Errorf("ls -l: no symlink target in\n%s", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines {
		fields := strings.Fields(l)
		name := strings.TrimPrefix(fields[len(fields)-1], "/")
		if strings.Contains(l, " -> ") {
			name = strings.TrimPrefix(fields[len(fields)-3], "/")
			if !strings.HasSuffix(l, " -> ../etc/hosts") {
				t.Errorf("symlink line without its target: %q", l)
			}
		}
		if want := statMode(t, filepath.Join(src, name)); fields[0] != want {
			t.Errorf("ls -l: %q: mode %s, stat says %s", l, fields[0], want)
		}
	}
	if os.Geteuid() == 0 {
		for name, nums := range map[string]string{"/s/null": "    1,     3", "/s/loop": "    7,     0"} {
			if !strings.Contains(out, nums+" ") || !strings.Contains(out, name) {
				t.Errorf("ls -l: no %q for %s in\n%s", nums, name, out)
			}
		}
		es := lsJSON(t, append(r, "/s/null")...)
		if len(es) != 1 || es[0].Rdev == nil || *es[0].Rdev != (engine.DevNumbers{Major: 1, Minor: 3}) {
			t.Errorf("ls --json /s/null: %+v", es)
		}
	}
	code, out, _ = run(t, "find", "--repo", repoPath, "link")
	if code != exitOK || strings.Count(out, " lrwxrwxrwx ") != 2 || strings.Count(out, " -> ../etc/hosts\n") != 2 {
		t.Errorf("find link: exit %d\n%s", code, out)
	}
}

// dump takes the path ls lists a block backup's image at, /NAME.img.
func TestDumpImagePath(t *testing.T) {
	base := t.TempDir()
	img := filepath.Join(base, "disk.img")
	data := bytes.Repeat([]byte("lvback image "), 100_000)
	must(t, os.WriteFile(img, data, 0o644))
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, e)
	}
	r := []string{"dump", "--repo", repoPath, "--name", "vm"}
	for _, p := range []string{"/vm.img", "vm.img", "/"} {
		if code, out, e := run(t, append(r, p)...); code != exitOK || sha256.Sum256([]byte(out)) != sha256.Sum256(data) {
			t.Errorf("dump %s: exit %d, %d bytes: %s", p, code, len(out), e)
		}
	}
	for _, p := range []string{"/vm.img/", "/x", "/vm.img/x", "/other.img"} {
		refused(t, append(r, p)...)
		refused(t, "ls", "--repo", repoPath, "--name", "vm", p)
	}
}

// A PATH ending in a slash names a directory, as for ls(1).
func TestTrailingSlash(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	r := []string{"--repo", repoPath, "--name", "vol"}
	for _, c := range []struct{ path, why string }{{"/etc/fstab/", "not a directory (a file)"}, {"/data/link/", "not a directory (a symlink)"},
		{"/data/fifo/", "not a directory (a fifo)"}} {
		for _, cmd := range []string{"ls", "dump"} {
			code, out, e := run(t, append([]string{cmd, c.path}, r...)...)
			if code != exitUsage || out != "" || strings.Count(e, "\n") != 1 || !strings.Contains(e, c.why) {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q", cmd, c.path, code, out, e)
			}
		}
	}
	if got := paths(lsJSON(t, append(r, "/etc/")...)); got != "/etc/fstab /etc/hosts /etc/ssh" {
		t.Errorf("ls /etc/: %s", got)
	}
	if code, out, e := run(t, append([]string{"dump", "/etc/"}, r...)...); code != exitOK || len(out)%512 != 0 || len(out) == 0 {
		t.Errorf("dump /etc/: exit %d, %d bytes: %s", code, len(out), e)
	}
}

// A file missing from the backup tree: a single-file dump writes nothing
// and says so; a tar dump writes zeros in its place and says so after.
func TestDumpMissingTreeFile(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initTamperRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	tree := mustList(t, repoPath)[0].Path
	must(t, os.Chmod(filepath.Join(tree, "etc"), 0o755))
	must(t, os.Remove(filepath.Join(tree, "etc/fstab")))
	r := []string{"dump", "--repo", repoPath, "--name", "vol"}
	code, out, e := run(t, append(r, "/etc/fstab")...)
	if code != exitFailed || out != "" || strings.Count(e, "\n") != 1 || !strings.Contains(e, "/etc/fstab: missing from the backup tree") ||
		!strings.Contains(e, "no such file") {
		t.Errorf("dump of a missing file: exit %d, stdout %q, stderr %q", code, out, e)
	}
	code, out, e = run(t, append(r, "/etc")...)
	if code != exitFailed || len(out) == 0 || len(out)%512 != 0 || strings.Count(e, "\n") != 1 ||
		!strings.Contains(e, "missing from the backup tree (first: /etc/fstab") || strings.Contains(e, "does not match") {
		t.Errorf("tar with a missing file: exit %d, %d bytes, stderr %q", code, len(out), e)
	}
}

// Bad input the review found accepted or misworded: a negative --jobs of
// any command, an unknown shell, a bad find pattern, a tag that is not
// UTF-8.
func TestBadInputWording(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	r := []string{"--repo", repoPath, "--name", "vol"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append([]string{"stats", "--jobs", "-1"}, r...), "--jobs -1: must be 1 or more"},
		{append([]string{"dump", "--jobs", "-3", "/etc/fstab"}, r...), "--jobs -3"},
		{append([]string{"verify", "--jobs", "-1"}, r...), "--jobs -1"},
		{append([]string{"restore", "--jobs", "-1", "--target", filepath.Join(base, "t")}, r...), "--jobs -1"},
		{append([]string{"prune", "--jobs", "-1", "--keep-last", "1"}, r...), "--jobs -1"},
		{append([]string{"backup", "--jobs", "-1", "--source", src}, r...), "--jobs -1"},
		{[]string{"copy", "--from", repoPath, "--to", filepath.Join(base, "o"), "--jobs", "-2"}, "--jobs -2"},
		{[]string{"completion", "bogus"}, `unknown command "bogus"`},
		{[]string{"find", "--repo", repoPath, "["}, `bad pattern "["`},
		{append([]string{"tag", "--add", "a\xff", "latest"}, r...), `invalid tag a\xff: not valid UTF-8`},
	} {
		code, out, e := run(t, c.args...)
		if code != exitUsage || out != "" || strings.Count(e, "\n") != 1 || !strings.Contains(e, c.want) || strings.Contains(e, "exclude") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, e, c.want)
		}
	}
	if it := mustList(t, repoPath); len(it) != 1 || len(it[0].Tags) != 0 {
		t.Errorf("bad input changed the repository: %+v", it)
	}
	if code, out, _ := run(t, "completion", "bash"); code != exitOK || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d", code)
	}
}
