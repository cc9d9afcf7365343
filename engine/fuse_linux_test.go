package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// troubleFS is a small FUSE file system serving a source with faults no
// local file system can be made to show on demand:
//
//	good    a plain file
//	eio     a file whose every read fails with EIO
//	hot     a file whose mtime is new at every stat (written all the time)
//	gone/   a directory that vanished: listed, but opening it fails with ENOENT
type troubleFS struct{ fs.Inode }

var _ fs.NodeOnAdder = (*troubleFS)(nil)

func (r *troubleFS) OnAdd(ctx context.Context) {
	attr := fuse.Attr{Mode: 0o644, Mtime: 1_700_000_000}
	add := func(name string, n fs.InodeEmbedder, mode uint32) {
		r.AddChild(name, r.NewPersistentInode(ctx, n, fs.StableAttr{Mode: mode}), false)
	}
	add("good", &fs.MemRegularFile{Data: []byte("fine"), Attr: attr}, syscall.S_IFREG)
	add("eio", &eioFile{fs.MemRegularFile{Data: make([]byte, 100000), Attr: attr}}, syscall.S_IFREG)
	add("hot", &hotFile{MemRegularFile: fs.MemRegularFile{Data: []byte("busy log"), Attr: attr}}, syscall.S_IFREG)
	add("gone", &goneDir{}, syscall.S_IFDIR)
}

// eioFile fails every read with EIO, as a bad disk sector does.
type eioFile struct{ fs.MemRegularFile }

func (f *eioFile) Open(context.Context, uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (f *eioFile) Read(context.Context, fs.FileHandle, []byte, int64) (fuse.ReadResult, syscall.Errno) {
	return nil, syscall.EIO
}

// hotFile reports a later mtime at every stat.
type hotFile struct {
	fs.MemRegularFile
	stats atomic.Uint64
}

func (f *hotFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	errno := f.MemRegularFile.Getattr(ctx, fh, out)
	out.Mtime += f.stats.Add(1)
	return errno
}

// goneDir is a directory that disappeared after its parent was listed.
type goneDir struct{ fs.Inode }

func (d *goneDir) Opendir(context.Context) syscall.Errno { return syscall.ENOENT }

// mountTroubleFS mounts a troubleFS for the test, or skips it naming what
// is missing.
func mountTroubleFS(t *testing.T) string {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse (load the fuse module): %v", err)
	}
	dir := t.TempDir()
	zero := time.Duration(0)
	opts := &fs.Options{EntryTimeout: &zero, AttrTimeout: &zero, NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{DirectMount: true, FsName: "lvback-test", Name: "troublefs"}}
	srv, err := fs.Mount(dir, &troubleFS{}, opts)
	if err != nil {
		t.Skipf("cannot mount a FUSE file system (needs root or fusermount, and the fuse module): %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Source trouble a FUSE file system serves: a read failing with EIO, a
// file that never stops changing and a directory that vanished before it
// was listed are each skipped and reported with their path; the rest is
// backed up, the backup completes and verifies, and nothing torn or
// unread is recorded.
func TestBackupOfFaultySource(t *testing.T) {
	src := mountTroubleFS(t)
	repoPath := newRepo(t, filepath.Join(t.TempDir(), "repo"))
	res, err := Backup(context.Background(), BackupOptions{Repo: repoPath, Name: "vol", Source: src, Jobs: 2})
	if res == nil || !errors.Is(err, ErrEntriesSkipped) {
		t.Fatalf("backup: %v, want it complete with skipped entries", err)
	}
	want := map[string]string{"eio": "input/output error", "hot": "changed while it was read", "gone": "vanished"}
	got := map[string]string{}
	for _, s := range res.Info.ErrorSamples {
		got[s.Path] = s.Error
	}
	for path, msg := range want {
		if !strings.Contains(got[path], msg) {
			t.Errorf("%s reported as %q, want %q", path, got[path], msg)
		}
	}
	if res.Info.Errors != int64(len(want)) {
		t.Errorf("%d errors recorded (%v), want %d", res.Info.Errors, got, len(want))
	}
	entries := manifestEntries(t, filepath.Join(res.Dir, "manifest.zst"))
	for _, p := range []string{"eio", "hot"} {
		if entries[p] != nil {
			t.Errorf("%s is recorded in the manifest", p)
		}
	}
	if e := entries["good"]; e == nil || e.Size != 4 {
		t.Errorf("good recorded as %+v", e)
	}
	if data, err := os.ReadFile(filepath.Join(res.Tree, "good")); err != nil || string(data) != "fine" {
		t.Errorf("good in the tree: %q, %v", data, err)
	}
	mustVerifyClean(t, repoPath)
}
