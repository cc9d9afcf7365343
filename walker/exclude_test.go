package walker_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvback/lvback/walker"
)

func TestExclude(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a/x", "a/y/z", "b", ".lvback-snapshots/s/f", "ab"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), nil, 0o644)
	}
	var got []string
	err := walker.Walk(context.Background(), root, walker.Options{Exclude: []string{".lvback-snapshots", "a/y"}},
		func(e *walker.Entry) error { got = append(got, e.Path); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "a", "a/x", "ab", "b"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
