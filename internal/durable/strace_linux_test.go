package durable

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The calls TestSyscalls checks are made by this test binary itself, run
// again under strace(1) with these variables set (see TestMain).
const (
	opEnv  = "DURABLE_TEST_OP"
	dirEnv = "DURABLE_TEST_DIR"
)

func TestMain(m *testing.M) {
	if op := os.Getenv(opEnv); op != "" {
		if err := runOp(op, os.Getenv(dirEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runOp(op, dir string) error {
	switch op {
	case "WriteFile":
		return WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644)
	case "Rename":
		return Rename(filepath.Join(dir, "a", "f"), filepath.Join(dir, "b", "f"))
	case "Remove":
		return Remove(filepath.Join(dir, "f"))
	}
	return fmt.Errorf("unknown op %q", op)
}

// TestSyscalls checks, with strace, the order of the system calls that
// make each operation durable: the file's fsync before the rename, the
// directory's fsync after it.
func TestSyscalls(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("no strace")
	}
	if b, err := exec.Command(strace, "-qq", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v: %s", err, b) // e.g. ptrace not permitted
	}
	for _, tc := range []struct {
		op    string
		setup []string // files (and their directories) made first
		want  []string
	}{
		{"WriteFile", nil, []string{
			"open D/.f.N.tmp", "fsync D/.f.N.tmp", "rename D/.f.N.tmp D/f", "open D", "fsync D"}},
		{"Rename", []string{"a/f", "b/"}, []string{
			"rename D/a/f D/b/f", "open D/b", "fsync D/b", "open D/a", "fsync D/a"}},
		{"Remove", []string{"f"}, []string{
			"unlink D/f", "open D", "fsync D"}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			dir := t.TempDir()
			for _, p := range tc.setup {
				full := filepath.Join(dir, p)
				if strings.HasSuffix(p, "/") {
					full = filepath.Join(full, "x") // makes the directory only
				}
				if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(p, "/") {
					if err := os.WriteFile(full, nil, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			out := filepath.Join(t.TempDir(), "strace")
			cmd := exec.Command(strace, "-f", "-qq", "-s", "4096", "-o", out,
				"-e", "trace=openat,fsync,rename,renameat,renameat2,unlink,unlinkat", os.Args[0])
			cmd.Env = append(os.Environ(), opEnv+"="+tc.op, dirEnv+"="+dir)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s under strace: %v: %s", tc.op, err, b)
			}
			trace, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := calls(string(trace), dir); !slices.Equal(got, tc.want) {
				t.Errorf("%s made\n\t%q\nwant\n\t%q", tc.op, got, tc.want)
			}
		})
	}
}

var (
	callLine  = regexp.MustCompile(`^\d+\s+(\w+)\((.*)\)\s+= (-?\d+)`)
	quoted    = regexp.MustCompile(`"([^"]*)"`)
	tempInDir = regexp.MustCompile(`\.f\.[0-9]+\.tmp`)
)

// calls returns the successful calls of an strace output that name a path
// in dir (D), each as "open P", "fsync P" (P: what the descriptor was
// opened as), "rename OLD NEW" or "unlink P", temporary names as .f.N.tmp.
func calls(trace, dir string) []string {
	opened := map[string]string{} // fd -> path
	var out []string
	for line := range strings.SplitSeq(trace, "\n") {
		m := callLine.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[3], "-") {
			continue
		}
		name, args, ret := m[1], m[2], m[3]
		var paths []string
		for _, q := range quoted.FindAllStringSubmatch(args, -1) {
			paths = append(paths, q[1])
		}
		var call string
		switch {
		case name == "openat" && len(paths) == 1:
			opened[ret] = paths[0]
			call = "open " + paths[0]
		case name == "fsync":
			call = "fsync " + opened[args]
		case strings.HasPrefix(name, "rename") && len(paths) == 2:
			call = "rename " + paths[0] + " " + paths[1]
		case strings.HasPrefix(name, "unlink") && len(paths) == 1:
			call = "unlink " + paths[0]
		default:
			continue
		}
		if !strings.Contains(call, " "+dir) {
			continue
		}
		call = strings.ReplaceAll(call, dir, "D")
		out = append(out, tempInDir.ReplaceAllString(call, ".f.N.tmp"))
	}
	return out
}
