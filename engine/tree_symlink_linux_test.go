package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/retention"
)

// A directory of a backup tree replaced by a symlink to outside data must
// never be followed: not by restore, verify, prune, nor by the next backup
// linking from it. Each test runs with the symlink at the top of the tree
// and as an intermediate component deeper down.
var symlinkSpots = []struct{ name, rel string }{
	{"top directory", "d"},
	{"deeper directory", "a/b"},
}

// symlinkSource writes a source tree whose every file is an hour old (so
// the next backup links it) and returns it with a repository path.
func symlinkSource(t *testing.T) (src, repoPath string) {
	src, repoPath = tamperDirs(t)
	for _, p := range []string{"keep", "d/f1", "d/sub/f3", "a/b/c/g", "a/b/h"} {
		writeFile(t, filepath.Join(src, p), "source "+p)
	}
	old := time.Now().Add(-time.Hour)
	filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	return src, repoPath
}

// outsideCopy makes a directory outside the repository holding the files
// below src/rel under the same names: with their content when same is
// set, else with content of the same length that says where it is from.
func outsideCopy(t *testing.T, src, rel string, same bool) string {
	outside := filepath.Join(t.TempDir(), "outside")
	filepath.Walk(filepath.Join(src, rel), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		r, _ := filepath.Rel(filepath.Join(src, rel), p)
		content := readFile(t, p)
		if !same { // as long as the source's: a copy would not stop short
			content = "OUTSIDE" + strings.Repeat("!", len(content)-len("OUTSIDE"))
		}
		writeFile(t, filepath.Join(outside, r), content)
		return nil
	})
	return outside
}

// plantSymlink moves tree/rel out of the repository and puts a symlink to
// outside in its place.
func plantSymlink(t *testing.T, tree, rel, outside string) {
	stash := filepath.Join(t.TempDir(), "stash")
	if err := os.Rename(filepath.Join(tree, rel), stash); err != nil {
		t.Error(err)
		return
	}
	if err := os.Symlink(outside, filepath.Join(tree, rel)); err != nil {
		t.Error(err)
	}
}

// dirState describes every file below dir: content, inode and link count.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		out[strings.TrimPrefix(p, dir)] = fmt.Sprintf("%q ino %d nlink %d %v", b, st.Ino, st.Nlink, err)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameState(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("%s changed:\nbefore %v\nafter  %v", what, before, after)
	}
}

// (a) restore reads no file through the symlink, and says which path.
func TestTreeSymlinkRestoreCopiesNothingOutside(t *testing.T) {
	for _, spot := range symlinkSpots {
		t.Run(spot.name, func(t *testing.T) {
			src, repoPath := symlinkSource(t)
			res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
			outside := outsideCopy(t, src, spot.rel, false)
			before := dirState(t, outside)
			plantSymlink(t, res.Tree, spot.rel, outside)

			target := filepath.Join(t.TempDir(), "t")
			_, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "vol", Target: target, Log: discardLog()})
			if !errors.Is(err, ErrRestoreIncomplete) || !strings.Contains(err.Error(), spot.rel+": ") {
				t.Errorf("err = %v, want ErrRestoreIncomplete naming %s", err, spot.rel)
			}
			for p, s := range dirState(t, target) {
				if strings.Contains(s, "OUTSIDE") {
					t.Errorf("restored %s from outside the tree: %s", p, s)
				}
			}
			if got := readFile(t, filepath.Join(target, "keep")); got != "source keep" {
				t.Errorf("keep = %q", got)
			}
			sameState(t, "outside directory", before, dirState(t, outside))
		})
	}
}

// (b) the next backup links no outside inode into the repository: it
// copies those files from the source and says so.
func TestTreeSymlinkNextBackupLinksNothingOutside(t *testing.T) {
	for _, spot := range symlinkSpots {
		t.Run(spot.name, func(t *testing.T) {
			src, repoPath := symlinkSource(t)
			first := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src,
				Now: func() time.Time { return time.Now().Add(-time.Minute) }})
			outside := outsideCopy(t, src, spot.rel, false)
			before := dirState(t, outside)
			plantSymlink(t, first.Tree, spot.rel, outside)

			var log bytes.Buffer
			second, err := Backup(context.Background(), BackupOptions{Repo: repoPath, Name: "vol", Source: src,
				Log: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatalf("backup: %v", err)
			}
			sameState(t, "outside directory", before, dirState(t, outside))
			for p, s := range dirState(t, filepath.Join(second.Tree, spot.rel)) {
				want := fmt.Sprintf("%q", "source "+filepath.Join(spot.rel, p))
				if !strings.HasPrefix(s, want+" ") || !strings.HasSuffix(s, "nlink 1 <nil>") {
					t.Errorf("%s in the new backup: %s, want a copy of the source, %s", p, s, want)
				}
			}
			if !strings.Contains(log.String(), spot.rel) || !strings.Contains(log.String(), "symlink") {
				t.Errorf("the backup did not say why it copied:\n%s", log.String())
			}
			if second.Info.Linked != 3 { // the files outside rel
				t.Errorf("linked %d files, want 3", second.Info.Linked)
			}
		})
	}
}

// (c) verify reports the symlink as a problem, also when the directory is
// replaced while verify is already reading it, and never hashes outside
// files (they hold the right content here, so only the path tells).
func TestTreeSymlinkVerifyReportsIt(t *testing.T) {
	for _, spot := range symlinkSpots {
		for _, swapped := range []bool{false, true} {
			name := spot.name + map[bool]string{false: ", planted before", true: ", swapped while read"}[swapped]
			t.Run(name, func(t *testing.T) {
				src, repoPath := symlinkSource(t)
				res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
				outside := outsideCopy(t, src, spot.rel, true)
				plant := func() { plantSymlink(t, res.Tree, spot.rel, outside) }
				if swapped {
					onFirstOpen(t, filepath.Join(res.Tree, spot.rel), plant)
				} else {
					plant()
				}
				rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath, Jobs: 1})
				if !errors.Is(err, ErrVerifyFailed) {
					t.Fatalf("err = %v, want ErrVerifyFailed", err)
				}
				found := false
				for _, p := range rep.Problems {
					found = found || strings.HasPrefix(p.Path, spot.rel) && strings.Contains(p.String(), "symlink")
				}
				if !found {
					t.Errorf("no problem names the symlink at %s: %v", spot.rel, rep.Problems)
				}
			})
		}
	}
}

// (d) prune of the backup removes the symlink, nothing it points to, also
// when the directory is replaced while prune is removing it.
func TestTreeSymlinkPruneRemovesNothingOutside(t *testing.T) {
	for _, spot := range symlinkSpots {
		for _, swapped := range []bool{false, true} {
			name := spot.name + map[bool]string{false: ", planted before", true: ", swapped while removed"}[swapped]
			t.Run(name, func(t *testing.T) {
				src, repoPath := symlinkSource(t)
				first := mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src,
					Now: func() time.Time { return time.Now().Add(-time.Minute) }})
				mustBackup(t, BackupOptions{Repo: repoPath, Name: "vol", Source: src})
				outside := outsideCopy(t, src, spot.rel, false)
				before := dirState(t, outside)
				if swapped {
					retired := filepath.Join(first.Dir+".deleting", "tree")
					onFirstOpen(t, filepath.Join(first.Tree, spot.rel), func() { plantSymlink(t, retired, spot.rel, outside) })
				} else {
					plantSymlink(t, first.Tree, spot.rel, outside)
				}
				_, err := Prune(context.Background(), PruneOptions{Repo: repoPath, Policy: retention.Policy{Last: 1}, Jobs: 1})
				if !swapped && err != nil {
					t.Errorf("prune: %v", err)
				}
				if swapped && err != nil && !strings.Contains(err.Error(), spot.rel+": ") {
					t.Errorf("prune failed without naming %s: %v", spot.rel, err)
				}
				sameState(t, "outside directory", before, dirState(t, outside))
			})
		}
	}
}
