package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// excludeTree is a source with caches (valid and invalid tags), markers
// and names for patterns at several depths.
var excludeTree = map[string]string{
	"keep.txt":                     "k",
	"a.o":                          "o",
	"src/b.o":                      "o",
	"src/main.c":                   "c",
	"src/deep/er/still/c.o":        "o",
	"src/deep/er/still/d.c":        "c",
	"logs/app.log":                 "l",
	"logs/keep.log":                "l",
	"tmp/x":                        "x",
	"var/tmp/y":                    "y",
	"srv/var/tmp/z":                "z",
	"docs/guide.md":                "g",
	"home/ann/.cache/CACHEDIR.TAG": exclude.CacheTagSignature + "\n# made by a browser\n",
	"home/ann/.cache/blob":         "b",
	"home/ann/.cache/sub/blob":     "b",
	"home/ann/fake/CACHEDIR.TAG":   "Signature: 8a477f597d28d172789f06886806bc5",
	"home/ann/fake/data":           "d",
	"home/bob/.nobackup":           "",
	"home/bob/secret":              "s",
	"home/bob/dir/f":               "f",
	"home/bob/ok/f":                "f",
}

// treePaths lists the paths below root, slash-separated, sorted ("" is root).
func treePaths(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			rel = ""
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, manifest.Compare)
	return out
}

// manifestPaths lists the paths of a manifest file, in its order.
func manifestPaths(t *testing.T, path string) []string {
	t.Helper()
	r, err := manifest.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Path)
	}
}

func sortedPaths(ps ...string) []string {
	ps = append([]string{""}, ps...)
	slices.SortFunc(ps, manifest.Compare)
	return ps
}

func checkPaths(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestBackupExcludes(t *testing.T) {
	src, repoPath := dirs(t)
	for p, c := range excludeTree {
		writeFile(t, filepath.Join(src, p), c)
	}
	first := exclude.Spec{Patterns: []string{"*.o", "*.log", "!keep.log", "/tmp", "docs/"},
		Caches: true, IfPresent: []string{".nobackup"}}
	res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "v", Source: src, Excludes: first, Log: discardLog()})

	// What stays, listed by hand: the oracle.
	kept := sortedPaths("keep.txt", "src", "src/main.c", "src/deep", "src/deep/er", "src/deep/er/still",
		"src/deep/er/still/d.c", "logs", "logs/keep.log", "var", "var/tmp", "var/tmp/y",
		"srv", "srv/var", "srv/var/tmp", "srv/var/tmp/z", "home", "home/ann", "home/ann/.cache", "home/ann/.cache/CACHEDIR.TAG",
		"home/ann/fake", "home/ann/fake/CACHEDIR.TAG", "home/ann/fake/data",
		"home/bob", "home/bob/.nobackup")
	left := []string{"a.o", "docs", "home/ann/.cache/blob", "home/ann/.cache/sub", "home/bob/dir",
		"home/bob/ok", "home/bob/secret", "logs/app.log", "src/b.o", "src/deep/er/still/c.o", "tmp"}
	slices.SortFunc(left, manifest.Compare)
	checkPaths(t, "tree", treePaths(t, res.Tree), kept)
	checkPaths(t, "manifest", manifestPaths(t, filepath.Join(res.Dir, repo.ManifestFile)), kept)
	checkPaths(t, "excluded list", manifestPaths(t, filepath.Join(res.Dir, repo.ExcludedFile)), left)
	i := backupsOf(t, repoPath, "v")[0].Info
	if i.Excludes == nil || !slices.Equal(i.Excludes.Patterns, first.Patterns) || !i.Excludes.Caches ||
		!slices.Equal(i.Excludes.IfPresent, first.IfPresent) || i.Excludes.Hash != first.Hash() {
		t.Fatalf("info.json excludes: %+v", i.Excludes)
	}
	if i.Excluded != int64(len(left)) || i.ExcludesChanged != nil {
		t.Fatalf("info.json: excluded %d, changed %q", i.Excluded, i.ExcludesChanged)
	}

	// The rules change: logs, docs and caches are no longer excluded,
	// var/tmp and a new build directory are; src/main.c is deleted.
	writeFile(t, filepath.Join(src, "src/build/out.bin"), "bin")
	if err := os.Remove(filepath.Join(src, "src/main.c")); err != nil {
		t.Fatal(err)
	}
	second := exclude.Spec{Patterns: []string{"*.o", "/tmp", "build/", "var/tmp/"}, IfPresent: []string{".nobackup"}}
	var logs bytes.Buffer
	res2 := mustBackup(t, BackupOptions{Repo: repoPath, Name: "v", Source: src, Excludes: second,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	kept2 := sortedPaths("keep.txt", "src", "src/deep", "src/deep/er", "src/deep/er/still",
		"src/deep/er/still/d.c", "logs", "logs/app.log", "logs/keep.log", "var",
		"srv", "srv/var", "srv/var/tmp", "srv/var/tmp/z",
		"docs", "docs/guide.md", "home", "home/ann", "home/ann/.cache", "home/ann/.cache/CACHEDIR.TAG",
		"home/ann/.cache/blob", "home/ann/.cache/sub", "home/ann/.cache/sub/blob",
		"home/ann/fake", "home/ann/fake/CACHEDIR.TAG", "home/ann/fake/data",
		"home/bob", "home/bob/.nobackup")
	checkPaths(t, "second tree", treePaths(t, res2.Tree), kept2)
	checkPaths(t, "second manifest", manifestPaths(t, filepath.Join(res2.Dir, repo.ManifestFile)), kept2)
	i2 := backupsOf(t, repoPath, "v")[1].Info
	wantChanges := []string{`pattern "build/" added`, `pattern "var/tmp/" added`, `pattern "*.log" removed`, `pattern "!keep.log" removed`,
		`pattern "docs/" removed`, "exclude caches false (was true)"}
	if !slices.Equal(i2.ExcludesChanged, wantChanges) || i2.Excludes.Hash != second.Hash() {
		t.Fatalf("second info.json: changes %q, excludes %+v", i2.ExcludesChanged, i2.Excludes)
	}
	if !strings.Contains(logs.String(), "exclude rules changed") || !strings.Contains(logs.String(), `build/`) {
		t.Fatalf("rule change not logged: %s", logs.String())
	}

	// diff: what the new rules leave out is excluded, what the old ones
	// left out is included, nothing is reported deleted.
	var changes []string
	err := diffBackups(t, repoPath, func(c manifest.Change) error {
		if c.Kind != "changed" {
			changes = append(changes, c.Kind+" "+c.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"included docs", "included docs/guide.md", "included home/ann/.cache/blob",
		"included home/ann/.cache/sub", "included home/ann/.cache/sub/blob", "included logs/app.log",
		"removed src/main.c", "excluded var/tmp", "excluded var/tmp/y"}
	if strings.Join(changes, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diff:\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}

	mustVerifyClean(t, repoPath)
	target := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(context.Background(), RestoreOptions{Repo: repoPath, Name: "v", ID: backupsOf(t, repoPath, "v")[0].ID,
		Target: target, Log: discardLog()}); err != nil {
		t.Fatal(err)
	}
	checkPaths(t, "restored first backup", treePaths(t, target), kept)
}

// diffBackups diffs the first and second backups of "v" as `lvback diff` does.
func diffBackups(t *testing.T, repoPath string, fn func(manifest.Change) error) error {
	bs := backupsOf(t, repoPath, "v")
	open := func(p string) *manifest.Reader {
		r, err := manifest.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	return manifest.DiffExcluded(open(bs[0].ManifestPath()), open(bs[1].ManifestPath()),
		open(bs[0].ExcludedPath()), open(bs[1].ExcludedPath()), fn)
}

func TestVerifyDamagedExcludedList(t *testing.T) {
	src, repoPath := dirs(t)
	writeFile(t, filepath.Join(src, "a.o"), "o")
	writeFile(t, filepath.Join(src, "b"), "b")
	res := mustBackup(t, BackupOptions{Repo: repoPath, Name: "v", Source: src,
		Excludes: exclude.Spec{Patterns: []string{"*.o"}}, Log: discardLog()})
	mustVerifyClean(t, repoPath)
	if err := os.Remove(filepath.Join(res.Dir, repo.ExcludedFile)); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), VerifyOptions{Repo: repoPath})
	if !errors.Is(err, ErrVerifyFailed) || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Detail, "excluded list") {
		t.Fatalf("verify of a backup without its excluded list: %v %+v", err, rep)
	}
}
