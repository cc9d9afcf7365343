package blockdiff

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

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
		testsys.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		testsys.Must(t, os.WriteFile(p, f.Data.fill(), 0o644))
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
	testsys.Must(t, err)
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
