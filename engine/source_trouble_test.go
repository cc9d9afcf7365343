package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/manifest"
)

// A directory source changes while it is backed up (no snapshot protects
// it): at the moment a worker is about to open a file, the test's
// beforeOpen hook replaces, grows, rewrites or removes it. Each trouble is
// either read again (the backup records the file as it is after the
// change) or skipped and reported with its path; the backup always
// completes, never records a file it did not read whole, and verifies.
func TestSourceChangesDuringBackup(t *testing.T) {
	later := time.Now().Add(time.Hour).Truncate(time.Second)
	tests := []struct {
		name   string
		change func(t *testing.T, path string, calls int) // called before every open of "victim"
		skip   string                                     // the reported error, or "" when re-read
		want   string                                     // content recorded when re-read
	}{
		{"replaced by a symlink", func(t *testing.T, p string, _ int) {
			testsys.Must(t, os.Remove(p))
			testsys.Must(t, os.Symlink("other", p))
		}, "replaced by a symlink", ""},
		{"replaced by another file", func(t *testing.T, p string, _ int) {
			testsys.Must(t, os.Rename(p, p+".old")) // keeps the inode: the new file gets another number
			testsys.Must(t, os.WriteFile(p, []byte("impostor"), 0o644))
		}, "replaced during the backup", ""},
		{"vanished", func(t *testing.T, p string, _ int) {
			testsys.Must(t, os.Remove(p))
		}, "vanished during the backup", ""},
		{"grows once", func(t *testing.T, p string, calls int) {
			if calls == 1 {
				appendTo(t, p, strings.Repeat("more ", 300000))
			}
		}, "", "original" + strings.Repeat("more ", 300000)},
		{"rewritten in place, same size", func(t *testing.T, p string, calls int) {
			if calls == 1 {
				testsys.Must(t, os.WriteFile(p, []byte("ORIGINAL"), 0o644))
				testsys.Must(t, os.Chtimes(p, later, later))
			}
		}, "", "ORIGINAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, repoPath := dirs(t)
			writeFile(t, filepath.Join(src, "other"), "other file")
			victim := filepath.Join(src, "victim")
			writeFile(t, victim, "original")
			calls := 0
			o := BackupOptions{Repo: repoPath, Name: "vol", Source: src, Jobs: 1, beforeOpen: func(rel string) {
				if rel == "victim" {
					calls++
					tt.change(t, victim, calls)
				}
			}}
			res, err := Backup(context.Background(), o)
			if res == nil {
				t.Fatalf("backup failed: %v", err)
			}
			got := manifestEntries(t, filepath.Join(res.Dir, "manifest.zst"))
			if tt.skip != "" {
				if !errors.Is(err, ErrEntriesSkipped) || res.Info.Errors != 1 || res.Info.ErrorSamples[0].Path != "victim" ||
					!strings.Contains(res.Info.ErrorSamples[0].Error, tt.skip) {
					t.Fatalf("err %v, info errors %+v; want victim skipped: %q", err, res.Info.ErrorSamples, tt.skip)
				}
				if _, ok := got["victim"]; ok {
					t.Fatal("a skipped file is in the manifest")
				}
				if _, err := os.Lstat(filepath.Join(res.Tree, "victim")); err == nil {
					t.Fatal("a skipped file is in the tree")
				}
			} else {
				if err != nil || calls != 2 {
					t.Fatalf("err %v after %d opens; want no error after reading it again", err, calls)
				}
				e := got["victim"]
				var st syscallStat
				statBlocks(t, victim, &st)
				if e == nil || e.Hash != blake3.Sum256([]byte(tt.want)) || e.Size != int64(len(tt.want)) || e.Mtime != (manifest.Time{Sec: st.Mtim.Sec, Nsec: uint32(st.Mtim.Nsec)}) {
					t.Fatalf("recorded %+v, want the content and mtime after the change", e)
				}
			}
			if e := got["other"]; e == nil {
				t.Fatal("the untroubled file is missing")
			}
			mustVerifyClean(t, repoPath)
		})
	}
}

// manifestEntries reads a manifest into a map by path.
func manifestEntries(t *testing.T, path string) map[string]*manifest.Entry {
	t.Helper()
	mr, err := manifest.Open(path)
	testsys.Must(t, err)
	defer mr.Close()
	out := map[string]*manifest.Entry{}
	for {
		e, err := mr.Next()
		if err != nil {
			break
		}
		out[e.Path] = e
	}
	return out
}

func appendTo(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	testsys.Must(t, err)
	_, err = f.WriteString(data)
	testsys.Must(t, err)
	testsys.Must(t, f.Close())
}
