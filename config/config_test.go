package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const good = `repo = "/mnt/backup"
on_failure = "mail -s 'lvback failed' root"

[defaults]
snapshot_size = "2G"
jobs = 4

[retention]
keep_daily = 7
keep_within = "14d"

[[volume]]
name = "xen-disk0"
lv = "/dev/xenimages/xen-image-disk0"
snapshot_size = "20%ORIGIN"

[[volume]]
name = "etc"
path = "/etc"
[volume.retention]
keep_last = 3

[[volume]]
name = "data"
btrfs = "/srv/data"
`

func TestParseGood(t *testing.T) {
	c, err := Parse("lvback.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Repo != "/mnt/backup" || len(c.Volumes) != 3 || c.Defaults.Jobs != 4 {
		t.Fatalf("%+v", c)
	}
	kinds := []string{c.Volumes[0].Kind(), c.Volumes[1].Kind(), c.Volumes[2].Kind()}
	if strings.Join(kinds, ",") != "lv,path,btrfs" {
		t.Fatalf("kinds %v", kinds)
	}
	p, ok := c.Policy(&c.Volumes[0])
	if !ok || p.Daily != 7 || p.Within != 14*24*time.Hour {
		t.Fatalf("global policy %+v", p)
	}
	if p, _ := c.Policy(&c.Volumes[1]); p.Last != 3 || p.Daily != 0 {
		t.Fatalf("per-volume policy %+v", p)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"unknown top key", "repo = \"/r\"\nrepository = 1\n", "x.toml:2: unknown key \"repository\""},
		{"unknown volume key", "repo = \"/r\"\n[[volume]]\nname = \"a\"\npath = \"/a\"\nsnapshot = \"1G\"\n", "x.toml:5: unknown key \"volume.snapshot\""},
		{"wrong type", "repo = \"/r\"\n[[volume]]\nname = 7\n", "x.toml:3:"},
		{"syntax", "repo = \n", "x.toml:1:"},
		{"relative repo", "repo = \"backups\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "x.toml:1: repo must be an absolute path"},
		{"missing name", "repo = \"/r\"\n\n[[volume]]\npath = \"/a\"\n", "x.toml:3: volume 1: missing name"},
		{"two sources", "repo = \"/r\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n[[volume]]\nname=\"b\"\nlv=\"/dev/vg/b\"\npath=\"/b\"\n", "x.toml:5: volume 2: b: set exactly one"},
		{"no source", "repo = \"/r\"\n[[volume]]\nname=\"a\"\n", "x.toml:2: volume 1: a: set exactly one"},
		{"duplicate", "repo = \"/r\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n[[volume]]\nname=\"a\"\npath=\"/b\"\n", "x.toml:5: volume name \"a\" is used twice"},
		{"bad name", "repo = \"/r\"\n[[volume]]\nname=\"a;rm -rf /\"\npath=\"/a\"\n", "invalid volume name"},
		{"bad size", "repo = \"/r\"\n[[volume]]\nname=\"a\"\nlv=\"/dev/vg/a\"\nsnapshot_size=\"lots\"\n", "snapshot_size \"lots\""},
		{"bad within", "repo = \"/r\"\n[retention]\nkeep_within=\"2 weeks\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "x.toml:2: retention"},
		{"empty retention", "repo = \"/r\"\n[retention]\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "no keep rule"},
		{"no volumes", "repo = \"/r\"\n", "no [[volume]]"},
		{"blocks of btrfs", "repo = \"/r\"\n[[volume]]\nname=\"a\"\nbtrfs=\"/a\"\nmode=\"blocks\"\n", "not btrfs"},
		{"unknown mode", "repo = \"/r\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\nmode=\"raw\"\n", "unknown mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadRefusesWritableConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lvback.toml")
	os.WriteFile(p, []byte(good), 0o644)
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o666)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Fatalf("world-writable config: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("repo = \"/r\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n"))
	f.Add([]byte("[[volume]]\n[[volume]]\n[retention]\nkeep_within=\"1y\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if len(c.Volumes) == 0 || c.Repo == "" {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
		for i := range c.Volumes {
			if c.Volumes[i].Source() == "" {
				t.Fatalf("volume without a source accepted")
			}
		}
	})
}
