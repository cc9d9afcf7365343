package walker_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/walker"
)

func TestExclude(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a/x", "a/y/z", "b", ".lvback-snapshots/s/f", "ab"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), nil, 0o644)
	}
	var got []string
	err := walker.Walk(context.Background(), root, walker.Options{Exclude: []string{".lvback-snapshots", "a/y"}},
		func(e *walker.Entry) error { got = append(got, e.Path); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "a", "a/x", "ab", "b"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRules(t *testing.T) {
	root := t.TempDir()
	tag := exclude.CacheTagSignature + "\n# a cache\n"
	files := map[string]string{
		"keep.txt":                       "",
		"a.o":                            "",
		"src/b.o":                        "",
		"src/deep/er/c.o":                "",
		"src/deep/er/keep.log":           "",
		"src/deep/er/drop.log":           "",
		"tmp/x":                          "",
		"var/tmp/y":                      "",
		"cache/CACHEDIR.TAG":             tag,
		"cache/blob":                     "",
		"cache/sub/blob":                 "",
		"badcache/CACHEDIR.TAG":          "Signature: not the right one",
		"badcache/blob":                  "",
		"shortcache/CACHEDIR.TAG":        exclude.CacheTagSignature[:20],
		"shortcache/blob":                "",
		"home/ann/.nobackup":             "",
		"home/ann/secret":                "",
		"home/ann/dir/f":                 "",
		"home/bob/f":                     "",
		"home/bob/.cache/CACHEDIR.TAG":   tag,
		"home/bob/.cache/c":              "",
		"home/bob/linkcache/target.file": tag,
		"build/out":                      "",
	}
	for p, c := range files {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// a symlink named CACHEDIR.TAG is no tag, even to a valid one
	os.Symlink("target.file", filepath.Join(root, "home/bob/linkcache/CACHEDIR.TAG"))
	rules, err := exclude.Spec{Patterns: []string{"*.o", "*.log", "!keep.log", "/tmp", "build/"},
		Caches: true, IfPresent: []string{".nobackup"}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var got, left []string
	err = walker.Walk(context.Background(), root, walker.Options{Rules: rules,
		OnExcluded: func(e *walker.Entry) error { left = append(left, e.Path); return nil }},
		func(e *walker.Entry) error { got = append(got, e.Path); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "badcache", "badcache/CACHEDIR.TAG", "badcache/blob", "cache", "cache/CACHEDIR.TAG",
		"home", "home/ann", "home/ann/.nobackup", "home/bob", "home/bob/.cache", "home/bob/.cache/CACHEDIR.TAG",
		"home/bob/f", "home/bob/linkcache", "home/bob/linkcache/CACHEDIR.TAG", "home/bob/linkcache/target.file",
		"keep.txt", "shortcache", "shortcache/CACHEDIR.TAG", "shortcache/blob",
		"src", "src/deep", "src/deep/er", "src/deep/er/keep.log", "var", "var/tmp", "var/tmp/y"}
	if !slices.Equal(got, want) {
		t.Fatalf("walked\n%q\nwant\n%q", got, want)
	}
	wantLeft := []string{"a.o", "build", "cache/blob", "cache/sub", "home/ann/dir", "home/ann/secret",
		"home/bob/.cache/c", "src/b.o", "src/deep/er/c.o", "src/deep/er/drop.log", "tmp"}
	if !slices.Equal(left, wantLeft) {
		t.Fatalf("excluded\n%q\nwant\n%q", left, wantLeft)
	}
}

func TestCacheTagFIFOIsNoTag(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f"), nil, 0o644)
	if err := syscall.Mkfifo(filepath.Join(root, exclude.CacheTagName), 0o644); err != nil {
		t.Skip(err)
	}
	rules, _ := exclude.Spec{Caches: true}.Compile()
	var got []string
	err := walker.Walk(context.Background(), root, walker.Options{Rules: rules},
		func(e *walker.Entry) error { got = append(got, e.Path); return nil })
	if err != nil || !slices.Equal(got, []string{"", exclude.CacheTagName, "f"}) {
		t.Fatalf("walked %q, %v", got, err)
	}
}
