package fileops

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pkg/xattr"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/manifest"
)

// XFS lists each ACL twice, as system.posix_acl_* and as its on-disk
// trusted.SGI_ACL_* name. ListXattrs returns the system names only, and
// ApplyMeta and CopyFileMeta leave exactly the recorded ACLs, replacing
// stale ones, without removing them again through their trusted names.
func TestXattrsOnXFS(t *testing.T) {
	mnt := testsys.MountImage(t, []string{"mkfs.xfs", "-q"}, 320<<20) // mkfs.xfs's minimum is 300 MB
	testsys.RequireTools(t, "setfacl")
	srcDir, srcFile := filepath.Join(mnt, "src-dir"), filepath.Join(mnt, "src-file")
	testsys.Must(t, os.Mkdir(srcDir, 0o755))
	writeAt(t, srcFile, 0, []byte("data"))
	testsys.Run(t, "setfacl", "-m", "u:1234:rwx,g:5678:r-x,d:u:1234:rwx,d:g:5678:rwx", "--", srcDir)
	testsys.Run(t, "setfacl", "-m", "u:1234:rw-,g:5678:r--", "--", srcFile)
	for _, p := range []string{srcDir, srcFile} {
		if err := xattr.LSet(p, "user.lvback", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if raw, err := xattr.LList(srcDir); err != nil || !slices.Contains(raw, "trusted.SGI_ACL_DEFAULT") {
		t.Fatalf("xfs lists %q, %v: no trusted.SGI_ACL_DEFAULT, the test proves nothing", raw, err)
	}
	for path, names := range map[string][]string{
		srcDir:  {"system.posix_acl_access", "system.posix_acl_default", "user.lvback"},
		srcFile: {"system.posix_acl_access", "user.lvback"},
	} {
		xs, err := ListXattrs(path)
		testsys.Must(t, err)
		var got []string
		for _, x := range xs {
			got = append(got, x.Name)
		}
		if !slices.Equal(got, names) {
			t.Errorf("ListXattrs(%s): %q, want %q", path, got, names)
		}
	}
	dirEntry, fileEntry := recorded(t, srcDir, manifest.TypeDir), recorded(t, srcFile, manifest.TypeFile)

	for _, tc := range []struct {
		name  string
		want  *manifest.Entry
		apply func(t *testing.T, dst string, e *manifest.Entry) error
	}{
		{"dir", dirEntry, func(t *testing.T, dst string, e *manifest.Entry) error {
			testsys.Must(t, os.Mkdir(dst, 0o700))
			return ApplyMeta(dst, e)
		}},
		{"dir with stale ACLs", dirEntry, func(t *testing.T, dst string, e *manifest.Entry) error {
			testsys.Must(t, os.Mkdir(dst, 0o700))
			testsys.Run(t, "setfacl", "-m", "u:999:r-x,d:u:999:r-x", "--", dst)
			return ApplyMeta(dst, e)
		}},
		{"file", fileEntry, func(t *testing.T, dst string, e *manifest.Entry) error {
			writeAt(t, dst, 0, []byte("data"))
			testsys.Run(t, "setfacl", "-m", "g:999:rwx", "--", dst)
			return ApplyMeta(dst, e)
		}},
		{"file copy", fileEntry, func(t *testing.T, dst string, e *manifest.Entry) error {
			src, err := os.Open(srcFile)
			testsys.Must(t, err)
			defer src.Close()
			_, _, err = CopyFileMeta(context.Background(), dst, src, e)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(mnt, "dst-"+tc.name)
			if err := tc.apply(t, dst, tc.want); err != nil {
				t.Fatal(err)
			}
			got := recorded(t, dst, tc.want.Type)
			if !manifest.EqualXattrs(got.Xattrs, tc.want.Xattrs) || got.Mode != tc.want.Mode {
				t.Errorf("mode %o, xattrs %q; want mode %o, xattrs %q", got.Mode, got.Xattrs, tc.want.Mode, tc.want.Xattrs)
			}
		})
	}
}

// recorded returns an entry of type typ with path's owner, mode, size and
// xattrs, less the names only xfs lists (as a source elsewhere would have).
func recorded(t *testing.T, path string, typ manifest.Type) *manifest.Entry {
	t.Helper()
	xs, err := ListXattrs(path)
	testsys.Must(t, err)
	xs = slices.DeleteFunc(xs, func(x manifest.Xattr) bool {
		return x.Name == "trusted.SGI_ACL_FILE" || x.Name == "trusted.SGI_ACL_DEFAULT"
	})
	st := lstat(t, path)
	return &manifest.Entry{Type: typ, Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid, Size: st.Size, Xattrs: xs}
}
