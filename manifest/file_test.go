package manifest

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// readFile decodes the manifest file at path.
func readFile(t *testing.T, path string) []*Entry {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	var es []*Entry
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return es
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		es = append(es, e)
	}
}

func TestCreateCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.lvbk")
	want := sampleEntries()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, e := range want {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("before Commit, Lstat(final path) = %v, want not exist", err)
	}
	names := dirNames(t, dir)
	if len(names) != 1 || !strings.HasPrefix(names[0], ".") || !strings.HasSuffix(names[0], ".tmp") {
		t.Fatalf("before Commit the directory holds %q, want one .*.tmp file", names)
	}
	if err := w.Close(); err == nil {
		t.Error("Close on a Writer from Create succeeded")
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	w.Abort()
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"m.lvbk"}) {
		t.Fatalf("after Commit and Abort the directory holds %q", names)
	}
	if got := readFile(t, path); !reflect.DeepEqual(got, want) {
		t.Error("committed manifest decodes to different entries")
	}
	if err := w.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
}

func TestCreateAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.lvbk")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(&Entry{Type: TypeDir}); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	w.Abort()
	if names := dirNames(t, dir); len(names) != 0 {
		t.Fatalf("after Abort the directory holds %q", names)
	}
	if err := w.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Fatalf("after Abort and Commit the directory holds %q", names)
	}
}

// TestCreateKeepsOldUntilCommit checks that an existing manifest stays
// intact until Commit replaces it, and forever if the new one fails.
func TestCreateKeepsOldUntilCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.lvbk")
	old := sampleEntries()[:2]
	if err := os.WriteFile(path, encode(t, old), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Add(&Entry{Path: "b", Type: TypeFile}); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(&Entry{Path: "a", Type: TypeFile}); err == nil {
		t.Fatal("Add accepted an entry out of order")
	}
	if err := w.Commit(); err == nil {
		t.Fatal("Commit succeeded after a failed Add")
	}
	w.Abort()
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"m.lvbk"}) {
		t.Fatalf("directory holds %q", names)
	}
	if got := readFile(t, path); !reflect.DeepEqual(got, old) {
		t.Error("the old manifest changed")
	}
}

func TestCreateRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	w, err := Create("m")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, "m"); len(got) != 0 {
		t.Errorf("got %d entries, want none", len(got))
	}
}

func TestCreateMissingDir(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "no", "m")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want fs.ErrNotExist", err)
	}
}
