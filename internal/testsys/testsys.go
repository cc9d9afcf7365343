// Package testsys holds what lvback's tests do to the system around them:
// run a command or fail, skip without root or a tool, mount an image or a
// tmpfs, attach a loop device, list the mounts below a directory. It is
// for tests only; the one piece of lvback it uses is internal/mountinfo,
// the mount table parser, which has tests of its own.
package testsys

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Must fails t with err unless err is nil.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Run runs the command args and returns its output (stdout and stderr)
// with surrounding white space trimmed. It fails t with that output when
// the command fails.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// RequireRoot skips t, saying what is missing, unless the process is root
// and every one of tools is installed.
func RequireRoot(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: needs loop devices and mounts")
	}
	RequireTools(t, tools...)
}

// RequireTools skips t unless every one of tools is on PATH, naming the
// Debian package of the first one missing.
func RequireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(notInstalled(tool))
		}
	}
}

// packages names the Debian package of each tool the tests use
// (scripts/deps.sh installs them).
var packages = map[string]string{
	"losetup": "mount", "mount": "mount", "umount": "mount",
	"blkid": "util-linux", "partx": "util-linux", "sfdisk": "fdisk",
	"mkfs.ext4": "e2fsprogs", "chattr": "e2fsprogs", "mkfs.xfs": "xfsprogs",
	"mkfs.btrfs": "btrfs-progs", "btrfs": "btrfs-progs",
	"rsync": "rsync", "strace": "strace",
	"dpkg": "dpkg", "dpkg-deb": "dpkg", "man": "man-db", "make": "make", "git": "git",
	"setfacl": "acl", "getfacl": "acl", "setfattr": "attr", "getfattr": "attr",
}

func notInstalled(tool string) string {
	if p, ok := packages[tool]; ok {
		return fmt.Sprintf("%s not installed (apt-get install %s)", tool, p)
	}
	return tool + " not installed"
}

// Buffer is a bytes.Buffer that a child process or other goroutines may
// write while the test reads it.
type Buffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

// Write appends p; safe for concurrent use.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far; safe for concurrent use.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
