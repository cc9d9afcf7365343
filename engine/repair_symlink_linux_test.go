package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// verify --repair never follows a symlink planted where a directory of a
// backup tree (or of --source) was: it neither reads the intact copy
// through it, nor renames, links or times anything behind it. The heal
// that would have needed the path is reported as not healed, naming the
// symlink, and nothing is changed. Each case runs with the symlink at the
// top of the tree and as an intermediate component deeper down.
func TestRepairNeverFollowsTreeSymlink(t *testing.T) {
	spots := []struct{ name, rel, file string }{
		{"top directory", "d", "d/f1"},
		{"deeper directory", "a/b", "a/b/h"},
	}
	cases := []struct {
		name string
		// copyInB2: the second backup copies the file (an intact copy in
		// another inode) instead of linking the damaged one.
		copyInB2 bool
		// plant replaces a directory with a symlink to an outside
		// directory, which it returns.
		plant  func(t *testing.T, src, b2Tree, rel string) string
		source bool // repair with --source
	}{
		{
			// The outside directory holds the damaged inode's second name
			// (b2's own directory moved out): following the symlink would
			// rename a new inode over it. The source holds an intact copy.
			name: "second name's directory",
			plant: func(t *testing.T, src, b2Tree, rel string) string {
				outside := filepath.Join(t.TempDir(), "outside")
				if err := os.Rename(filepath.Join(b2Tree, rel), outside); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, filepath.Join(b2Tree, rel)); err != nil {
					t.Fatal(err)
				}
				return outside
			},
			source: true,
		},
		{
			// The intact copy's directory in b2 points to outside files of
			// the right content: following it would heal from outside data.
			name:     "intact copy's directory",
			copyInB2: true,
			plant: func(t *testing.T, src, b2Tree, rel string) string {
				outside := outsideCopy(t, src, rel, true)
				plantSymlink(t, b2Tree, rel, outside)
				return outside
			},
		},
		{
			// The source's directory points to outside files of the right
			// content.
			name: "source directory",
			plant: func(t *testing.T, src, b2Tree, rel string) string {
				outside := outsideCopy(t, src, rel, true)
				plantSymlink(t, src, rel, outside)
				return outside
			},
			source: true,
		},
	}
	for _, spot := range spots {
		for _, c := range cases {
			t.Run(spot.name+", "+c.name, func(t *testing.T) {
				src, repoPath := symlinkSource(t)
				b1 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src,
					Now: func() time.Time { return time.Now().Add(-time.Minute) }})
				if c.copyInB2 { // changed mtime, same content: b2 copies it
					then := time.Now().Add(-30 * time.Minute)
					if err := os.Chtimes(filepath.Join(src, spot.file), then, then); err != nil {
						t.Fatal(err)
					}
				}
				b2 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
				damaged := filepath.Join(b1.Tree, spot.file)
				linked := inoOf(t, filepath.Join(b2.Tree, spot.file)) == inoOf(t, damaged)
				if linked == c.copyInB2 {
					t.Fatalf("b2 linked the file: %v, want %v: the test proves nothing", linked, !c.copyInB2)
				}
				flipByte(t, damaged, 0)
				if _, err := Verify(context.Background(), VerifyOptions{Repo: repoPath}); !errors.Is(err, ErrVerifyFailed) {
					t.Fatalf("verify: %v", err)
				}
				if l := damagedList(t, repoPath); len(l) != 1 {
					t.Fatalf("damaged list %+v, want the file", l)
				}

				outside := c.plant(t, src, b2.Tree, spot.rel)
				before := outsideListing(t, outside)
				b1Before := outsideListing(t, b1.Tree)
				o := VerifyOptions{Repo: repoPath, Repair: true, Log: discardLog()}
				if c.source {
					o.Source = src
				}
				rep, err := Verify(context.Background(), o)
				if rep == nil || rep.Repair == nil {
					t.Fatalf("verify --repair: no repair report (err %v)", err)
				}
				if !errors.Is(err, ErrVerifyFailed) {
					t.Errorf("verify --repair: err = %v, want ErrVerifyFailed", err)
				}
				sameState(t, "outside directory", before, outsideListing(t, outside))
				sameState(t, "b1's tree", b1Before, outsideListing(t, b1.Tree))
				want := FileRef{Backup: "vol/" + b1.Info.ID, Path: spot.file}
				for _, h := range rep.Repair.Healed {
					t.Errorf("healed %v from %s", h.Files, h.From)
				}
				var heal *Heal
				for i, h := range rep.Repair.Unhealed {
					for _, f := range h.Files {
						if f == want {
							heal = &rep.Repair.Unhealed[i]
						}
					}
				}
				if heal == nil {
					t.Fatalf("%v is not reported as not healed: %+v", want, rep.Repair)
				}
				t.Logf("not healed: %s", heal.Reason)
				if !strings.Contains(heal.Reason, spot.rel+": a symlink") {
					t.Errorf("reason %q does not name the symlink %s", heal.Reason, spot.rel)
				}
			})
		}
	}
}

// outsideListing describes every entry below dir, dir included: type,
// inode, link count, mtime and, for a file, its content.
func outsideListing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		s := fmt.Sprintf("mode %o ino %d nlink %d mtime %d.%09d", st.Mode, st.Ino, st.Nlink, st.Mtim.Sec, st.Mtim.Nsec)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			s += fmt.Sprintf(" %q %v", b, err)
		}
		out[strings.TrimPrefix(p, dir)] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
