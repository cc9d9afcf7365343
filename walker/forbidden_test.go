package walker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// Meeting a forbidden directory, at whatever path, aborts the walk before
// fn sees it or anything below it.
func TestWalkRefusesForbiddenDirectory(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/b/c", "a/x"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("b", filepath.Join(root, "a/link")); err != nil {
		t.Fatal(err)
	}
	idOf := func(p string) FileID {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return FileID{st.Dev, st.Ino}
	}
	tests := []struct {
		name, forbid, wantPath string
		wantSeen               []string
	}{
		{"below the root", "a/b", "a/b", []string{"", "a"}},
		{"the root", "", "", nil},
		{"met last", "a/x", "a/x", []string{"", "a", "a/b", "a/b/c", "a/link"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []string
			err := Walk(context.Background(), root, Options{Jobs: 2, Forbidden: []FileID{idOf(filepath.Join(root, tt.forbid))}},
				func(e *Entry) error { seen = append(seen, e.Path); return nil })
			var fe *ForbiddenError
			if !errors.As(err, &fe) || fe.Path != tt.wantPath {
				t.Fatalf("err = %v, want a ForbiddenError at %q", err, tt.wantPath)
			}
			if !slices.Equal(seen, tt.wantSeen) {
				t.Errorf("fn saw %q, want %q", seen, tt.wantSeen)
			}
		})
	}
}
