package blockdiff

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// Reuse copies the previous index only when the store holds every one of
// its chunks with the stored length it records and none is damaged;
// otherwise it writes nothing.
func TestReuse(t *testing.T) {
	const cs = 64 * kib
	tests := []struct {
		name   string
		spoil  func(t *testing.T, store *DirStore, prev *Index) map[ID]bool // returns Damaged
		reused bool
	}{
		{name: "all stored", reused: true},
		{name: "a chunk missing", spoil: func(t *testing.T, store *DirStore, prev *Index) map[ID]bool {
			testsys.Must(t, os.Remove(store.path(prev.Entries[1].ID)))
			return nil
		}},
		{name: "a chunk of another stored length", spoil: func(t *testing.T, store *DirStore, prev *Index) map[ID]bool {
			testsys.Must(t, os.Truncate(store.path(prev.Entries[6].ID), 5))
			return nil
		}},
		{name: "a chunk recorded damaged", spoil: func(t *testing.T, store *DirStore, prev *Index) map[ID]bool {
			return map[ID]bool{prev.Entries[0].ID: true}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir, src, store, prev := firstBackup(t, cs)
			var damaged map[ID]bool
			if tt.spoil != nil {
				damaged = tt.spoil(t, store, prev)
			}
			read, err := ReadIndex(filepath.Join(dir, "i1")) // streamed, as the engine reads it
			testsys.Must(t, err)
			out := filepath.Join(dir, "i2")
			reused, st, err := Reuse(ctx, read, store, out, damaged)
			testsys.Must(t, err)
			if reused != tt.reused {
				t.Fatalf("Reuse = %v, want %v", reused, tt.reused)
			}
			if !reused {
				if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("index written although not reused: %v", err)
				}
				return
			}
			got, err := ReadIndex(out)
			testsys.Must(t, err)
			if got.Size != prev.Size || got.ChunkSize != prev.ChunkSize || got.Hash != prev.Hash {
				t.Errorf("reused index %+v, want %+v", got, prev)
			}
			if st.ReadBytes != 0 || st.Chunks != 8 || st.Holes != 3 || st.ReusedChunks != 5 || st.NewChunks != 0 {
				t.Errorf("stats %+v", st)
			}
			restoreAndCompare(t, got, store, src)
		})
	}
}

// IdentifySource names a regular file by its device, inode, size, mtime
// and ctime (what Backup records in Stats.Source when the file did not
// change while it was read), and a block device not at all.
func TestIdentifySource(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "src.img")
	writeImage(t, img, 4*mib, span{0, mib, "random", 1})
	id, err := IdentifySource(img)
	testsys.Must(t, err)
	var st syscall.Stat_t
	testsys.Must(t, syscall.Stat(img, &st))
	want := SourceIdentity{Dev: st.Dev, Ino: st.Ino, Size: 4 * mib, MtimeSec: st.Mtim.Sec, MtimeNsec: st.Mtim.Nsec, CtimeSec: st.Ctim.Sec, CtimeNsec: st.Ctim.Nsec}
	if id == nil || *id != want {
		t.Fatalf("IdentifySource = %+v, want %+v", id, want)
	}
	store, err := OpenDirStore(filepath.Join(dir, "chunks"))
	testsys.Must(t, err)
	_, bst, err := Backup(context.Background(), img, store, filepath.Join(dir, "index"), Options{})
	testsys.Must(t, err)
	if bst.Source == nil || *bst.Source != want {
		t.Errorf("Backup's Stats.Source = %+v, want %+v", bst.Source, want)
	}
	testsys.RequireRoot(t, "losetup")
	dev := testsys.AttachLoop(t, img)
	if id, err := IdentifySource(dev); err != nil || id != nil {
		t.Errorf("IdentifySource(%s) = %+v, %v; want nil: a device's times say nothing of its content", dev, id, err)
	}
	_, bst, err = Backup(context.Background(), dev, store, filepath.Join(dir, "index2"), Options{})
	testsys.Must(t, err)
	if bst.Source != nil {
		t.Errorf("Backup of %s: Stats.Source = %+v, want nil", dev, bst.Source)
	}
}
