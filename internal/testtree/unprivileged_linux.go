package testtree

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// unprivilegedEnv marks the child process Unprivileged starts.
const unprivilegedEnv = "TESTTREE_UNPRIVILEGED"

// nobody is the uid and gid the child process of Unprivileged runs as.
const nobody = 65534

// Unprivileged reports whether the calling test should run its body in this
// process, which it should when the process is not root: as root, file
// permissions do not apply and errors such as EACCES cannot happen. As root,
// Unprivileged instead runs the same test again in a child process as uid
// and gid 65534 (a copy of the test binary, with its own TMPDIR), fails t
// with the child's output unless the child passed, and returns false.
func Unprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return true
	}
	if os.Getenv(unprivilegedEnv) != "" {
		t.Fatal("testtree: child process still runs as root")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "unprivileged.test")
	copyExecutable(t, bin)
	cmd := exec.Command(bin, "-test.run="+runPattern(t.Name()), "-test.v", "-test.count=1")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), unprivilegedEnv+"=1", "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("as uid %d: %v\n%s", nobody, err, out)
	}
	t.Logf("passed as uid %d", nobody)
	return false
}

// runPattern returns a -test.run pattern matching exactly the test name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// copyExecutable copies the running test binary to dst, mode 0755.
func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}
