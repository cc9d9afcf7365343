package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pkg/xattr"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// mountACLFS mounts a fresh small file system of each kind a source, a
// repository or a restore target is put on by the ACL tests until t ends,
// keyed by kind ("ext4", "xfs", "btrfs", "tmpfs"); xfs lists its on-disk
// ACLs under second names.
func mountACLFS(t *testing.T) map[string]string {
	t.Helper()
	testsys.RequireTools(t, "getfacl", "getfattr", "setfacl")
	return map[string]string{
		"ext4":  testsys.MountImage(t, []string{"mkfs.ext4", "-q", "-F"}, 32<<20),
		"xfs":   testsys.MountImage(t, []string{"mkfs.xfs", "-q"}, 320<<20), // mkfs.xfs's minimum is 300 MB
		"btrfs": testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, 256<<20),
		"tmpfs": testsys.MountTmpfs(t, 32<<20),
	}
}

// aclTree has access ACLs with named users and groups and a mask on files
// and directories, default ACLs on directories (one with no access ACL),
// a file without an ACL below a default ACL, and user.* and trusted.*
// xattrs beside them.
func aclTree() testtree.Dir {
	xs := func(v string) map[string][]byte {
		return map[string][]byte{"user.note": []byte(v), "trusted.lvback": []byte("t-" + v)}
	}
	return testtree.Dir{
		ACL:    "u:1234:rwx,g:5678:r-x,m::rwx,d:u:1234:rwx,d:g:5678:r-x,d:m::rwx",
		Xattrs: xs("root"),
		Entries: map[string]testtree.Node{
			"acl-file":   testtree.File{Content: []byte("a\n"), ACL: "u:1234:rw-,g:5678:r--,m::rw-", Xattrs: xs("file")},
			"plain-file": testtree.File{Content: []byte("p\n"), Xattrs: xs("plain")},
			"bare-file":  testtree.File{Content: []byte("b\n")},
			"default-only": testtree.Dir{ACL: "d:u:4321:rwx,d:g:8765:rwx", Entries: map[string]testtree.Node{
				"acl-file": testtree.File{Content: []byte("c\n"), ACL: "u:4321:r--,g:8765:rw-"},
			}},
			"both": testtree.Dir{ACL: "u:1234:r-x,g:5678:rwx,d:u:4321:rwx,d:o::---", Xattrs: xs("dir"),
				Entries: map[string]testtree.Node{
					"plain-file": testtree.File{Content: []byte("d\n")},
				}},
			"symlink": testtree.Symlink{Target: "acl-file"},
		},
	}
}

// The ACLs and the user, security and trusted xattrs that getfacl and
// getfattr show are the same on the source, in the backup tree and after a
// restore, whichever of ext4, xfs, btrfs and tmpfs each of them is on: xfs
// lists trusted.SGI_ACL_FILE and trusted.SGI_ACL_DEFAULT beside the
// system.posix_acl_* names of the same ACLs, and no other file system may
// gain those trusted names. Every file system is a source, a repository and
// a restore target once; xfs and ext4 are a source for each other's
// restores.
func TestACLsAcrossFileSystems(t *testing.T) {
	mnt := mountACLFS(t)
	for _, c := range []struct{ src, repo, target string }{
		{"ext4", "xfs", "tmpfs"},
		{"xfs", "ext4", "btrfs"},
		{"btrfs", "tmpfs", "xfs"},
		{"tmpfs", "btrfs", "ext4"},
		{"ext4", "btrfs", "xfs"},
		{"xfs", "tmpfs", "ext4"},
	} {
		name := c.src + "-" + c.repo + "-" + c.target
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(mnt[c.src], "src-"+name)
			repoPath := newRepo(t, filepath.Join(mnt[c.repo], "repo-"+name))
			target := filepath.Join(mnt[c.target], "restore-"+name)
			testsys.Must(t, os.Mkdir(src, 0o755))
			testtree.Create(t, src, aclTree())
			want := aclDump(t, src, c.src)

			o := BackupOptions{Repo: repoPath, Name: "vol", Source: src}
			first := mustBackup(t, o)
			checkACLDump(t, "backup tree on "+c.repo, want, aclDump(t, first.Tree, c.repo))
			second := mustBackup(t, o) // hard-links the unchanged files
			checkACLDump(t, "second backup tree on "+c.repo, want, aclDump(t, second.Tree, c.repo))
			mustVerifyClean(t, repoPath)

			ro := RestoreOptions{Repo: repoPath, Name: "vol", Target: target}
			if _, err := Restore(context.Background(), ro); err != nil {
				t.Fatalf("restore: %v", err)
			}
			checkACLDump(t, "restore on "+c.target, want, aclDump(t, target, c.target))

			// ACLs the backup does not have are removed by a forced restore
			// (of the root too, restored onto the target on purpose).
			testsys.Run(t, "setfacl", "-m", "u:999:rwx,d:u:999:rwx", "--", target)
			testsys.Run(t, "setfacl", "-m", "u:999:rwx", "--", filepath.Join(target, "bare-file"))
			testsys.Run(t, "setfacl", "-m", "g:999:rwx", "--", filepath.Join(target, "default-only"))
			ro.Force, ro.RootMetadata = true, true
			if _, err := Restore(context.Background(), ro); err != nil {
				t.Fatalf("forced restore: %v", err)
			}
			checkACLDump(t, "forced restore on "+c.target, want, aclDump(t, target, c.target))
		})
	}
}

// aclDump returns what `getfacl -R` and `getfattr -R -d -m -` show of the
// tree at root, on a file system of kind fs: one block per path and tool,
// with relative paths and numeric ids, sorted. Only on xfs are the names of
// its own ACL aliases left out.
func aclDump(t *testing.T, root, fs string) []string {
	t.Helper()
	var blocks []string
	for _, cmd := range [][]string{
		{"getfacl", "-R", "-P", "-p", "-n", "."},
		{"getfattr", "-R", "-h", "-d", "-m", "-", "-e", "hex", "."},
	} {
		c := exec.Command(cmd[0], cmd[1:]...)
		c.Dir = root
		var stderr bytes.Buffer
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("%s in %s: %v\n%s", strings.Join(cmd, " "), root, err, stderr.Bytes())
		}
		for _, b := range strings.Split(strings.TrimSpace(string(out)), "\n\n") {
			lines := strings.Split(b, "\n")
			kept := lines[:1] // "# file: ./path"
			for _, l := range lines[1:] {
				if fs == "xfs" && (strings.HasPrefix(l, "trusted.SGI_ACL_FILE=") || strings.HasPrefix(l, "trusted.SGI_ACL_DEFAULT=")) {
					continue
				}
				kept = append(kept, l)
			}
			if len(kept) > 1 {
				blocks = append(blocks, cmd[0]+" "+strings.Join(kept, "\n"))
			}
		}
	}
	slices.Sort(blocks)
	return blocks
}

// checkACLDump fails t with the blocks only want or only got has.
func checkACLDump(t *testing.T, what string, want, got []string) {
	t.Helper()
	for _, b := range want {
		if !slices.Contains(got, b) {
			t.Errorf("%s lacks:\n%s", what, b)
		}
	}
	for _, b := range got {
		if !slices.Contains(want, b) {
			t.Errorf("%s has instead:\n%s", what, b)
		}
	}
}

// A manifest that recorded XFS's alias names trusted.SGI_ACL_FILE and
// trusted.SGI_ACL_DEFAULT, as lvback did before it knew them, of a backup
// into an ext4 repository whose tree therefore holds them as plain trusted
// attributes, verifies clean and restores onto ext4 without those names,
// and onto xfs and tmpfs with the same ACLs as the source.
func TestRestoreManifestWithXFSAliases(t *testing.T) {
	mnt := mountACLFS(t)
	src := filepath.Join(mnt["xfs"], "src")
	repoPath := newRepo(t, filepath.Join(mnt["ext4"], "repo"))
	testsys.Must(t, os.Mkdir(src, 0o755))
	testtree.Create(t, src, aclTree())
	want := aclDump(t, src, "xfs")
	mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
	b := backupsOf(t, repoPath, "vol")[0]
	if n := addXFSAliases(t, &b, src); n == 0 {
		t.Fatal("the source has no alias names: the test proves nothing")
	}
	mustVerifyClean(t, repoPath)

	for _, fs := range []string{"ext4", "xfs", "tmpfs"} {
		target := filepath.Join(mnt[fs], "restore")
		if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target}); err != nil {
			t.Fatalf("restore onto %s: %v", fs, err)
		}
		checkACLDump(t, "restore on "+fs, want, aclDump(t, target, fs))
	}
}

// addXFSAliases makes b look written by an lvback that recorded alias
// names: every entry gets the trusted.SGI_ACL_* attributes its source on
// xfs lists, in the manifest (whose hash info.json is updated to) and on
// the backup tree. It returns how many there are.
func addXFSAliases(t *testing.T, b *repo.Backup, src string) int {
	t.Helper()
	mr, err := manifest.Open(b.ManifestPath())
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	mw, err := manifest.Create(b.ManifestPath())
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Abort()
	added := 0
	for {
		e, err := mr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"trusted.SGI_ACL_FILE", "trusted.SGI_ACL_DEFAULT"} {
			v, err := xattr.LGet(filepath.Join(src, e.Path), name)
			if errors.Is(err, xattr.ENOATTR) {
				continue
			}
			testsys.Must(t, err)
			testsys.Must(t, xattr.LSet(filepath.Join(b.TreePath(), e.Path), name, v))
			if !slices.ContainsFunc(e.Xattrs, func(x manifest.Xattr) bool { return x.Name == name }) {
				e.Xattrs = append(e.Xattrs, manifest.Xattr{Name: name, Value: v})
			}
			added++
		}
		slices.SortFunc(e.Xattrs, func(a, b manifest.Xattr) int { return strings.Compare(a.Name, b.Name) })
		testsys.Must(t, mw.Add(e))
	}
	testsys.Must(t, mw.Commit())
	sum, err := hashFile(b.ManifestPath())
	testsys.Must(t, err)
	b.Info.ManifestBLAKE3 = sum
	info, err := json.Marshal(b.Info)
	testsys.Must(t, err)
	testsys.Must(t, os.WriteFile(filepath.Join(b.Dir, repo.InfoFile), info, 0o644))
	return added
}
