package exclude

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestExcluded(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		path     string
		dir      bool
		want     bool
	}{
		{"name at the root", []string{"*.o"}, "main.o", false, true},
		{"name at depth 3", []string{"*.o"}, "a/b/main.o", false, true},
		{"name matches a directory too", []string{"build"}, "src/build", true, true},
		{"star stays in its component", []string{"*.o"}, "a.o/x", false, false},
		{"no partial name match", []string{"main"}, "a/main.c", false, false},
		{"root itself never", []string{"*"}, "", true, false},
		{"star matches dot files", []string{"*"}, ".hidden", false, true},
		{"anchored at the root", []string{"/tmp"}, "tmp", true, true},
		{"anchored not deeper", []string{"/tmp"}, "var/tmp", true, false},
		{"inner slash anchors", []string{"var/tmp"}, "var/tmp", true, true},
		{"inner slash anchors, not deeper", []string{"var/tmp"}, "x/var/tmp", true, false},
		{"leading ** unanchors", []string{"**/var/tmp"}, "x/y/var/tmp", true, true},
		{"leading ** matches zero", []string{"**/var/tmp"}, "var/tmp", true, true},
		{"inner ** matches zero", []string{"/a/**/b"}, "a/b", false, true},
		{"inner ** matches many", []string{"/a/**/b"}, "a/x/y/z/b", false, true},
		{"inner ** needs the end", []string{"/a/**/b"}, "a/x/b/c", false, false},
		{"trailing ** inside", []string{"/a/**"}, "a/x", false, true},
		{"trailing ** not the dir itself", []string{"/a/**"}, "a", true, false},
		{"star component", []string{"/home/*/.cache"}, "home/ann/.cache", true, true},
		{"star component is one level", []string{"/home/*/.cache"}, "home/ann/x/.cache", true, false},
		{"question mark", []string{"file?.txt"}, "d/file1.txt", false, true},
		{"question mark is one char", []string{"file?.txt"}, "d/file10.txt", false, false},
		{"class", []string{"[ab]*.log"}, "x/b1.log", false, true},
		{"class miss", []string{"[ab]*.log"}, "x/c1.log", false, false},
		{"negated class", []string{"[^ab]*.log"}, "x/c1.log", false, true},
		{"dir only matches a dir", []string{"cache/"}, "x/cache", true, true},
		{"dir only skips a file", []string{"cache/"}, "x/cache", false, false},
		{"anchored dir only", []string{"/var/cache/"}, "var/cache", true, true},
		{"negation keeps", []string{"*.log", "!keep.log"}, "a/keep.log", false, false},
		{"negation leaves others", []string{"*.log", "!keep.log"}, "a/drop.log", false, true},
		{"last rule wins", []string{"!keep.log", "*.log"}, "a/keep.log", false, true},
		{"negation alone excludes nothing", []string{"!x"}, "x", false, false},
		{"escaped star is literal", []string{`a\*`}, "a*", false, true},
		{"escaped star not a glob", []string{`a\*`}, "ab", false, false},
		{"escaped bang is not negation", []string{`\!x`}, "!x", false, true},
		{"escaped hash", []string{`\#x`}, "#x", false, true},
		{"escaped bracket", []string{`\[x]`}, "[x]", false, true},
		{"space in name", []string{"my file"}, "d/my file", false, true},
		{"exact path at depth 4", []string{"/a/b/c/d"}, "a/b/c/d", false, true},
		{"exact path prefix only", []string{"/a/b/c/d"}, "a/b/c", true, false},
		{"no rules", nil, "a", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Spec{Patterns: tt.patterns}.Compile()
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Excluded(tt.path, tt.dir); got != tt.want {
				t.Fatalf("%q on %q (dir %v): %v, want %v", tt.patterns, tt.path, tt.dir, got, tt.want)
			}
		})
	}
}

func TestNilRulesExcludeNothing(t *testing.T) {
	var r *Rules
	if r.Excluded("a", true) || r.Markers() != nil || r.IsCacheTag(CacheTagName) {
		t.Fatal("nil rules exclude")
	}
}

func TestBadPatterns(t *testing.T) {
	for _, p := range []string{"[a", "a/[b/c", `x\`, "", "/", "!", "!/", "a//b", "./a", "a/../b", "[]a]"} {
		_, err := Spec{Patterns: []string{"ok", p}}.Compile()
		if !errors.Is(err, ErrBadPattern) || !strings.Contains(err.Error(), `"`+strings.ReplaceAll(p, `\`, `\\`)+`"`) {
			t.Errorf("pattern %q: error %v, want ErrBadPattern naming it", p, err)
		}
	}
	for _, n := range []string{"", "a/b", ".", ".."} {
		if _, err := (Spec{IfPresent: []string{n}}).Compile(); !errors.Is(err, ErrBadPattern) {
			t.Errorf("if-present %q: error %v", n, err)
		}
	}
}

func TestParseFile(t *testing.T) {
	data := "# comment\n\n  *.tmp  \n\t/var/cache/\n\\#literal\n!keep.tmp\r\n"
	got, err := ParseFile("ex", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"*.tmp", "/var/cache/", `\#literal`, "!keep.tmp"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	_, err = ParseFile("ex", []byte("# c\nok\n\nbad[\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "ex:4: ") || !strings.Contains(err.Error(), `"bad["`) {
		t.Fatalf("error %v, want ex:4 naming the pattern", err)
	}
}

func TestMarkers(t *testing.T) {
	r, _ := Spec{Caches: true, IfPresent: []string{".nobackup", ".nobackup"}}.Compile()
	if got := r.Markers(); !slices.Equal(got, []string{".nobackup", CacheTagName}) {
		t.Fatalf("markers %q", got)
	}
	if !r.IsCacheTag(CacheTagName) || r.IsCacheTag(".nobackup") {
		t.Fatal("IsCacheTag")
	}
	r, _ = Spec{IfPresent: []string{CacheTagName}}.Compile()
	if r.IsCacheTag(CacheTagName) {
		t.Fatal("an if-present CACHEDIR.TAG needs no signature")
	}
	if !ValidCacheTag([]byte(CacheTagSignature+"\n# x")) || ValidCacheTag([]byte(CacheTagSignature[:42])) ||
		ValidCacheTag([]byte("signature: 8a477f597d28d172789f06886806bc55")) {
		t.Fatal("ValidCacheTag")
	}
}

func TestHashAndChanges(t *testing.T) {
	a := Spec{Patterns: []string{"*.o", "/tmp"}, IfPresent: []string{".nobackup"}}
	same := Spec{Patterns: []string{"*.o", "/tmp"}, IfPresent: []string{".nobackup"}}
	if a.Hash() != same.Hash() || len(same.Changes(a)) != 0 {
		t.Fatal("equal specs differ")
	}
	b := Spec{Patterns: []string{"/tmp", "*.log"}, Caches: true}
	if a.Hash() == b.Hash() {
		t.Fatal("different specs hash alike")
	}
	want := []string{`pattern "*.log" added`, `pattern "*.o" removed`, "exclude caches true (was false)",
		`exclude-if-present ".nobackup" removed`}
	if got := b.Changes(a); !slices.Equal(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	reordered := Spec{Patterns: []string{"/tmp", "*.o"}, IfPresent: []string{".nobackup"}}
	if got := reordered.Changes(a); !slices.Equal(got, []string{"pattern order changed"}) || reordered.Hash() == a.Hash() {
		t.Fatalf("reorder: %q", got)
	}
}
