package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestExcludeKeys(t *testing.T) {
	dir := t.TempDir()
	defFile := filepath.Join(dir, "common.excludes")
	volFile := filepath.Join(dir, "home.excludes")
	os.WriteFile(defFile, []byte("# common\n*.tmp\n\n/var/cache/\n"), 0o644)
	os.WriteFile(volFile, []byte("!keep.tmp\n"), 0o644)
	doc := `repo = "/mnt/backup"

[defaults]
exclude = ["*.o", "/tmp"]
exclude_file = "` + defFile + `"
exclude_caches = true
exclude_if_present = [".nobackup"]

[[volume]]
name = "home"
path = "/home"
exclude = ["build/"]
exclude_file = "` + volFile + `"
exclude_if_present = [".nobackup", ".skip"]

[[volume]]
name = "srv"
path = "/srv"
exclude_caches = false

[[volume]]
name = "disk"
path = "/disk.img"
mode = "blocks"
`
	p := filepath.Join(dir, "lvback.toml")
	os.WriteFile(p, []byte(doc), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	home := c.Excludes(&c.Volumes[0])
	if want := []string{"*.o", "/tmp", "*.tmp", "/var/cache/", "build/", "!keep.tmp"}; !slices.Equal(home.Patterns, want) {
		t.Fatalf("home patterns %q, want %q", home.Patterns, want)
	}
	if !home.Caches || !slices.Equal(home.IfPresent, []string{".nobackup", ".skip"}) {
		t.Fatalf("home %+v", home)
	}
	srv := c.Excludes(&c.Volumes[1])
	if srv.Caches || !slices.Equal(srv.Patterns, []string{"*.o", "/tmp", "*.tmp", "/var/cache/"}) {
		t.Fatalf("srv %+v", srv)
	}
	if disk := c.Excludes(&c.Volumes[2]); !disk.Empty() {
		t.Fatalf("block volume has excludes %+v", disk)
	}
}

func TestExcludeKeyErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.excludes")
	os.WriteFile(bad, []byte("# fine\nok\nx[\n"), 0o644)
	head := "repo = \"/r\"\n"
	vol := "[[volume]]\nname = \"a\"\npath = \"/a\"\n"
	tests := []struct{ name, doc, want string }{
		{"bad default pattern", head + "[defaults]\njobs = 1\nexclude = [\"ok\", \"[a\"]\n" + vol, `x.toml:4: exclude: bad exclude pattern "[a"`},
		{"bad volume pattern", head + vol + "[[volume]]\nname = \"b\"\npath = \"/b\"\nexclude = [\"a//b\"]\n", `x.toml:8: exclude: bad exclude pattern "a//b"`},
		{"bad marker", head + vol + "exclude_if_present = [\"a/b\"]\n", `x.toml:5: exclude_if_present:`},
		{"relative file", head + vol + "exclude_file = \"ex\"\n", `x.toml:5: exclude_file: "ex" must be an absolute path`},
		{"blocks", head + vol + "mode = \"blocks\"\nexclude_caches = true\n", "x.toml:2: volume a: exclude keys apply to file mode only"},
		{"wrong type", head + vol + "exclude = \"*.o\"\n", "x.toml:5:"},
		{"bad file", head + vol + "exclude_file = \"" + bad + "\"\n", `x.toml:5: exclude_file: ` + bad + `:3: bad exclude pattern "x["`},
		{"missing file", head + vol + "exclude_file = \"" + filepath.Join(dir, "nope") + "\"\n", "x.toml:5: exclude_file: exclude file: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.toml")
			os.WriteFile(p, []byte(tt.doc), 0o600)
			_, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), strings.Replace(tt.want, "x.toml", p, 1)) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tt.want)
			}
		})
	}
}
