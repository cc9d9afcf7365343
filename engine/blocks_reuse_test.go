package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/repo"
)

// An image file whose size, mtime, ctime and inode have not moved since
// the previous backup is not read again: the new backup copies the
// previous index (info.json says which), reads 0 bytes, stores nothing,
// and restores bit-identical.
func TestBlockBackupReusesUnchangedImage(t *testing.T) {
	img, repoPath, _ := blockRepo(t)
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	first, err := r.Latest("vm")
	if err != nil {
		t.Fatal(err)
	}
	if first.Info.SourceFile == nil || first.Info.ReadBytes == 0 || first.Info.ReusedIndex != "" {
		t.Fatalf("first backup: source_file %+v, read %d bytes, reused %q", first.Info.SourceFile, first.Info.ReadBytes, first.Info.ReusedIndex)
	}
	res, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(21)}})
	if err != nil {
		t.Fatal(err)
	}
	i := res.Info
	if i.ReusedIndex != first.ID || i.ReadBytes != 0 || i.Copied != 0 || i.AddedBytes != 0 {
		t.Fatalf("backup of an unchanged image: reused %q (want %s), read %d bytes, stored %d chunks", i.ReusedIndex, first.ID, i.ReadBytes, i.Copied)
	}
	if i.Size != first.Info.Size || i.Linked != first.Info.Copied+first.Info.Linked || i.ManifestEntries != first.Info.ManifestEntries {
		t.Errorf("reused backup counts %+v, previous %+v", i, *first.Info)
	}
	if i.SourceFile == nil || *i.SourceFile != *first.Info.SourceFile {
		t.Errorf("reused backup records source %+v, want %+v", i.SourceFile, first.Info.SourceFile)
	}
	stored, err := r.Latest("vm")
	if err != nil || stored.ID != i.ID || stored.Info.ReusedIndex != first.ID {
		t.Fatalf("info.json of the reused backup: %+v %v", stored, err)
	}
	restoreMatches(t, repoPath, img)
	mustVerifyClean(t, repoPath)
}

// The cases in which an image file is read although it may be unchanged:
// its mtime moved (content untouched), a chunk of the previous backup is
// gone from the store or recorded damaged (the read heals it), the
// caller asked for a full read, or the source is lvback's own snapshot.
func TestBlockBackupReadsWhenReuseIsWrong(t *testing.T) {
	cases := []struct {
		name   string
		before func(t *testing.T, img, repoPath, chunk string) // between the two backups
		opts   func(o *BlockOptions)
		heals  bool // the store lost or damaged a chunk: the read stores it again
	}{
		{name: "mtime moved", before: func(t *testing.T, img, _, _ string) {
			if err := os.Chtimes(img, time.Time{}, time.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "chunk missing", heals: true, before: func(t *testing.T, _, _, chunk string) {
			if err := os.Remove(chunk); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "chunk recorded damaged", heals: true, before: func(t *testing.T, _, repoPath, chunk string) {
			flipByte(t, chunk, 10)
			r, err := repo.Open(repoPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.RecordDamagedChunks([]string{filepath.Base(chunk)}, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "full read", opts: func(o *BlockOptions) { o.FullRead = true }},
		{name: "lvback's snapshot", opts: func(o *BlockOptions) { o.Snapshot = true }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, repoPath, chunk := blockRepo(t)
			if c.before != nil {
				c.before(t, img, repoPath, chunk)
			}
			o := BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: img, Now: day(21)}}
			if c.opts != nil {
				c.opts(&o)
			}
			res, err := BackupBlocks(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Info.ReusedIndex != "" || res.Info.ReadBytes == 0 {
				t.Fatalf("backup reused %q and read %d bytes; want a read", res.Info.ReusedIndex, res.Info.ReadBytes)
			}
			if want := int64(0); c.heals {
				want = 1
				if res.Info.Copied != want {
					t.Errorf("backup stored %d chunks, want %d", res.Info.Copied, want)
				}
			} else if res.Info.Copied != want {
				t.Errorf("backup stored %d chunks, want %d", res.Info.Copied, want)
			}
			restoreMatches(t, repoPath, img)
			mustVerifyClean(t, repoPath)
		})
	}
}

// A block device is read by every backup: its times say nothing of its
// content, so it has no identity to compare.
func TestBlockBackupReadsBlockDeviceEveryTime(t *testing.T) {
	testsys.RequireRoot(t, "losetup")
	dir := t.TempDir()
	img, repoPath := filepath.Join(dir, "disk.img"), newRepo(t, filepath.Join(dir, "repo"))
	makeImage(t, img)
	dev := testsys.AttachLoop(t, img)
	for d := 20; d <= 21; d++ {
		res, err := BackupBlocks(context.Background(), BlockOptions{BackupOptions: BackupOptions{Repo: repoPath, Name: "vm", Source: dev, Now: day(d)}})
		if err != nil {
			t.Fatal(err)
		}
		if i := res.Info; i.ReusedIndex != "" || i.SourceFile != nil || i.ReadBytes != i.Size {
			t.Fatalf("backup %d of %s: reused %q, source_file %+v, read %d of %d bytes", d-19, dev, i.ReusedIndex, i.SourceFile, i.ReadBytes, i.Size)
		}
	}
}

// sourceUnchanged decides whether a previous block backup's index may
// stand for an image file without reading it: only when every part of
// the file's identity matches, the previous read saw no change, and the
// index has the chunk size a new backup would use.
func TestSourceUnchanged(t *testing.T) {
	id := blockdiff.SourceIdentity{Dev: 1, Ino: 2, Size: 1 << 20, MtimeSec: 3, MtimeNsec: 4, CtimeSec: 5, CtimeNsec: 6}
	idx := &blockdiff.Index{Size: 1 << 20, ChunkSize: 64 << 10}
	with := func(f func(i *blockdiff.SourceIdentity)) *blockdiff.SourceIdentity {
		c := id
		f(&c)
		return &c
	}
	info := func(f func(i *repo.Info)) *repo.Info {
		c := id // each Info has its own copy
		i := &repo.Info{SourceFile: &c}
		if f != nil {
			f(i)
		}
		return i
	}
	tests := []struct {
		name      string
		prev      *repo.Info
		cur       *blockdiff.SourceIdentity
		chunkSize int
		want      bool
	}{
		{"same", info(nil), &id, 64 << 10, true},
		{"same, default chunk size", info(nil), &id, 0, true},
		{"no previous", nil, &id, 0, false},
		{"a device now", info(nil), nil, 0, false},
		{"previous recorded none", info(func(i *repo.Info) { i.SourceFile = nil }), &id, 0, false},
		{"previous changed while read", info(func(i *repo.Info) { i.SourceChanged = true }), &id, 0, false},
		{"other device", info(nil), with(func(i *blockdiff.SourceIdentity) { i.Dev++ }), 0, false},
		{"other inode", info(nil), with(func(i *blockdiff.SourceIdentity) { i.Ino++ }), 0, false},
		{"other mtime ns", info(nil), with(func(i *blockdiff.SourceIdentity) { i.MtimeNsec++ }), 0, false},
		{"other ctime s", info(nil), with(func(i *blockdiff.SourceIdentity) { i.CtimeSec++ }), 0, false},
		{"other ctime ns", info(nil), with(func(i *blockdiff.SourceIdentity) { i.CtimeNsec++ }), 0, false},
		{"index of another size", info(func(i *repo.Info) { i.SourceFile.Size = 2 << 20 }), with(func(i *blockdiff.SourceIdentity) { i.Size = 2 << 20 }), 0, false},
		{"repository chunk size changed", info(nil), &id, 128 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sourceUnchanged(tt.prev, tt.cur, idx, tt.chunkSize); got != tt.want {
				t.Errorf("sourceUnchanged = %v, want %v", got, tt.want)
			}
		})
	}
}
