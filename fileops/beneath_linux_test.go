package fileops

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/testsys"
)

// Both ways of resolving (openat2, and openat per component for kernels
// without it) give the same answers: nothing through a symlink, nothing
// outside the directory, symlinks named.
func TestResolveBeneath(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	for _, p := range []string{"d/f", "d/sub/g", filepath.Base(outside) + "/f"} {
		testsys.Must(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		testsys.Must(t, os.WriteFile(filepath.Join(root, p), []byte(p), 0o644))
	}
	testsys.Must(t, os.WriteFile(filepath.Join(outside, "f"), []byte("outside"), 0o644))
	testsys.Must(t, os.Symlink(outside, filepath.Join(root, "ln")))
	testsys.Must(t, os.Symlink("f", filepath.Join(root, "d/lf")))
	testsys.Must(t, os.Symlink("../..", filepath.Join(root, "d/sub/up")))

	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY, 0)
	testsys.Must(t, err)
	defer unix.Close(rootFD)
	tests := []struct {
		name, rel string
		flags     int
		symlink   string // the *SymlinkError's path, if one is wanted
		errno     error  // else the errno wanted; nil: success
	}{
		{"file", "d/f", unix.O_RDONLY, "", nil},
		{"directory", "d/sub", unix.O_RDONLY | unix.O_DIRECTORY, "", nil},
		{"root", "", unix.O_PATH | unix.O_DIRECTORY, "", nil},
		{"symlinked directory", "ln/f", unix.O_RDONLY, "ln", nil},
		{"last symlink", "d/lf", unix.O_RDONLY, "d/lf", nil},
		{"last symlink, O_PATH", "d/lf", unix.O_PATH, "d/lf", nil},
		{"symlink as a directory", "d/lf", unix.O_PATH | unix.O_DIRECTORY, "d/lf", nil},
		{"symlink upwards", "d/sub/up/d/f", unix.O_RDONLY, "d/sub/up", nil},
		{"dot-dot out", "../" + filepath.Base(outside) + "/f", unix.O_RDONLY, "", unix.EXDEV},
		{"missing", "d/nope", unix.O_RDONLY, "", unix.ENOENT},
	}
	ways := map[string]func(int, string, int) (int, error){"openat2": openat2Beneath, "openat": openatBeneath}
	for way, open := range ways {
		for _, tt := range tests {
			t.Run(way+"/"+tt.name, func(t *testing.T) {
				fd, err := resolveWith(open, rootFD, tt.rel, tt.flags)
				if err == nil {
					unix.Close(fd)
				}
				var se *SymlinkError
				switch {
				case tt.symlink != "":
					if !errors.As(err, &se) || se.Path != tt.symlink || !errors.Is(err, unix.ELOOP) {
						t.Fatalf("err = %v, want a symlink error naming %s", err, tt.symlink)
					}
				case tt.errno != nil:
					if !errors.Is(err, tt.errno) {
						t.Fatalf("err = %v, want %v", err, tt.errno)
					}
				case err != nil:
					t.Fatalf("err = %v", err)
				}
			})
		}
	}
}
