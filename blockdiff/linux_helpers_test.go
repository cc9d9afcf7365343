package blockdiff

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// requireRoot skips t, naming what is missing, unless the process is root
// and every tool is installed.
func requireRoot(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: needs loop devices and mounts")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install e2fsprogs mount util-linux)", tool)
		}
	}
}

// run runs a command and fails t with its output if it fails.
func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// attachLoop attaches img to a free loop device until t ends.
func attachLoop(t testing.TB, img string) string {
	t.Helper()
	dev := run(t, "losetup", "-f", "--show", img)
	t.Cleanup(func() { run(t, "losetup", "-d", dev) })
	return dev
}

// mount mounts what on a new directory until t ends (or until the
// returned function unmounts it earlier; calling it twice is safe).
func mount(t testing.TB, what string, opts string) (string, func()) {
	t.Helper()
	mnt := t.TempDir()
	run(t, "mount", "-o", opts, what, mnt)
	done := false
	umount := func() {
		if !done {
			done = true
			run(t, "umount", mnt)
		}
	}
	t.Cleanup(umount)
	return mnt, umount
}

// testFile is one regular file of a test tree: its content is made by
// Data (Off is ignored).
type testFile struct {
	Name string
	Data span
}

// createTree writes files under root.
func createTree(t testing.TB, root string, files []testFile) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f.Name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, f.Data.fill(), 0o644))
	}
}

// checkTree fails t unless root holds exactly files (besides lost+found
// and directories), each with its content.
func checkTree(t *testing.T, root string, files []testFile) {
	t.Helper()
	var got []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.Name() == "lost+found" {
				return filepath.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got = append(got, rel)
		return nil
	})
	must(t, err)
	var want []string
	for _, f := range files {
		want = append(want, f.Name)
		data, err := os.ReadFile(filepath.Join(root, f.Name))
		if err != nil || string(data) != string(f.Data.fill()) {
			t.Errorf("%s: wrong content (%v)", f.Name, err)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("tree holds %v, want %v", got, want)
	}
}
