package testtree

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// rsyncCompare are the rsync options that make a dry run list every
// difference between two trees that lvback must not have:
//
//	-a                  recurse; compare permissions (with setuid, setgid,
//	                    sticky), mtimes of files, directories and symlinks,
//	                    owner and group (as root), file types, device
//	                    numbers and symlink targets
//	-n                  change nothing
//	-c                  compare content by checksum, so a change that keeps
//	                    size and mtime is caught
//	-H -A -X            compare hard links, POSIX ACLs and xattrs (as root
//	                    also trusted.* and security.*)
//	--numeric-ids       compare uid/gid numbers, not names
//	--delete            report entries only the destination has
//	--modify-window=-1  compare mtimes to the nanosecond (the default is
//	                    whole seconds)
//	--itemize-changes   print one line per difference and nothing else
var rsyncCompare = []string{"-anc", "-HAX", "--numeric-ids", "--delete",
	"--modify-window=-1", "--itemize-changes"}

// rsyncCopy are the rsync options of an exact copy: the attributes
// rsyncCompare compares, with holes kept (--sparse).
var rsyncCopy = []string{"-aHAX", "--numeric-ids", "--delete", "--sparse", "--modify-window=-1"}

// RsyncDiff compares the trees a and b with rsync and returns its itemized
// differences, or "" when they are identical in content, type, symlink
// target, hard links, mode, owner (when root), mtime to the nanosecond, ACLs
// and xattrs. It runs rsync both ways, because rsync only checks that the
// destination has the source's hard links: the reverse run catches names
// that b links together and a does not. Atimes, ctimes, inode numbers and
// holes are not compared. It skips the test when rsync is not installed.
func RsyncDiff(t testing.TB, a, b string) string {
	t.Helper()
	var out string
	if d := rsync(t, rsyncCompare, a, b); d != "" {
		out += fmt.Sprintf("rsync %s/ %s/:\n%s", a, b, d)
	}
	if d := rsync(t, rsyncCompare, b, a); d != "" {
		out += fmt.Sprintf("rsync %s/ %s/ (reverse):\n%s", b, a, d)
	}
	return out
}

// Copy makes dst (created if missing) an exact copy of src with rsync, as a
// reference the code under test never touched: content, holes, hard links
// within src, modes, owners (when root), mtimes to the nanosecond, ACLs and
// xattrs. It skips the test when rsync is not installed.
func Copy(t testing.TB, src, dst string) {
	t.Helper()
	if out := rsync(t, rsyncCopy, src, dst); out != "" {
		t.Fatalf("testtree: rsync copy printed %q", out)
	}
}

// rsync runs rsync with opts from src/ to dst/ and returns its standard
// output; any failure or message on standard error fails the test.
func rsync(t testing.TB, opts []string, src, dst string) string {
	t.Helper()
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skipf("rsync not installed: %v", err)
	}
	args := append(append([]string(nil), opts...), "--", src+"/", dst+"/")
	cmd := exec.Command("rsync", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("testtree: rsync %q: %v\n%s%s", args, err, stderr.Bytes(), stdout.Bytes())
	}
	return stdout.String()
}
