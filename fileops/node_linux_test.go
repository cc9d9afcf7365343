package fileops

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/manifest"
)

func TestMakeNode(t *testing.T) {
	root := os.Geteuid() == 0
	for _, tc := range []struct {
		name string
		typ  manifest.Type
		rdev uint64
		ifmt uint32
		root bool // needs root; otherwise ErrNotPermitted is expected
	}{
		{"fifo", manifest.TypeFIFO, 0, unix.S_IFIFO, false},
		{"socket", manifest.TypeSocket, 0, unix.S_IFSOCK, false},
		{"char 1,3", manifest.TypeChar, unix.Mkdev(1, 3), unix.S_IFCHR, true},
		{"block 7,0", manifest.TypeBlock, unix.Mkdev(7, 0), unix.S_IFBLK, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node")
			err := MakeNode(path, &manifest.Entry{Type: tc.typ, Rdev: tc.rdev, Mode: 0o644})
			if tc.root && !root {
				if !errors.Is(err, ErrNotPermitted) {
					t.Errorf("MakeNode as uid %d: %v, want ErrNotPermitted", os.Geteuid(), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := lstat(t, path)
			if st.Mode != tc.ifmt|0o600 || st.Rdev != tc.rdev {
				t.Errorf("mode %o rdev %#x, want %o %#x", st.Mode, st.Rdev, tc.ifmt|0o600, tc.rdev)
			}
			if err := MakeNode(path, &manifest.Entry{Type: tc.typ, Rdev: tc.rdev}); err == nil {
				t.Error("MakeNode replaced an existing node")
			}
		})
	}
}

func TestMakeNodeRejectsOtherTypes(t *testing.T) {
	for _, typ := range []manifest.Type{manifest.TypeFile, manifest.TypeDir, manifest.TypeSymlink, 0} {
		path := filepath.Join(t.TempDir(), "node")
		if err := MakeNode(path, &manifest.Entry{Type: typ}); err == nil {
			t.Errorf("MakeNode accepted type %s", typ)
		}
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("MakeNode created something for type %s", typ)
		}
	}
}
