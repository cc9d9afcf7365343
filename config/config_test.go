package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/tags"
)

const good = `repo = "/mnt/backup"
on_failure = "mail -s 'lvback failed' root"

[defaults]
snapshot_size = "2G"
jobs = 4

[retention]
keep_daily = 7
keep_within = "14d"
keep_tags = ["monthly", "db,pre-upgrade"]

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
	if !ok || p.Daily != 7 || p.Within != 14*24*time.Hour || strings.Join(p.Tags, " ") != "monthly db,pre-upgrade" {
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
		{"full_read in file mode", "repo = \"/r\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\nfull_read=true\n", "full_read applies to mode \"blocks\" only"},
		{"bad default tag", "repo = \"/r\"\n[defaults]\ntags = [\"a b\"]\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "x.toml:3: defaults: tags: invalid tag \"a b\""},
		{"empty volume tag", "repo = \"/r\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\ntags = [\"\"]\n", "x.toml:2: volume 1: a: tags: empty tag"},
		{"tags not a list", "repo = \"/r\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\ntags = \"x\"\n", "x.toml:5:"},
		{"bad keep_tags", "repo = \"/r\"\n[retention]\nkeep_tags=[\"a,\"]\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "x.toml:2: retention: keep_tags: empty tag"},
		{"relative copy_to", "repo = \"/r\"\ncopy_to = \"offsite\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "x.toml:2: copy_to must be an absolute path or an s3: URL"},
		{"copy_to is repo", "repo = \"/r\"\ncopy_to = \"/r/\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "x.toml:2: copy_to \"/r/\" is repo"},
		{"copy_to is the s3 repo", "repo = \"s3:http://h:1/bucket\"\ncopy_to = \"s3:http://h:1/bucket\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\nmode=\"blocks\"\n", "x.toml:2: copy_to \"s3:http://h:1/bucket\" is repo"},
		{"bad copy_to URL", "repo = \"/r\"\ncopy_to = \"s3:ftp://h/b\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "x.toml:2: copy_to: "},
		{"files to an s3 copy_to", "repo = \"/r\"\ncopy_to = \"s3:http://h:1/bucket\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n", "x.toml:3: volume 1: a: copy_to is an s3: repository"},
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
	f.Add([]byte(hooks))
	f.Add([]byte("repo = \"/r\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\n"))
	f.Add([]byte("[[volume]]\n[[volume]]\n[retention]\nkeep_within=\"1y\"\n"))
	f.Add([]byte("repo = \"/r\"\n[defaults]\ntags=[\"a\"]\n[retention]\nkeep_tags=[\"a,b\"]\n[[volume]]\nname=\"a\"\npath=\"/a\"\ntags=[\"b,c\"]\n"))
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
			for _, tag := range c.Tags(&c.Volumes[i]) {
				if err := tags.Valid(tag); err != nil {
					t.Fatalf("accepted a bad tag: %v", err)
				}
			}
		}
	})
}

const hooks = `repo = "/mnt/backup"
before_snapshot = "virsh domfsfreeze web"
after_snapshot = "virsh domfsthaw web"
on_success = "curl -fsS -m 10 https://hc-ping.com/uuid"
on_failure = "curl -fsS -m 10 https://hc-ping.com/uuid/fail"
hook_timeout = "2m"

[[volume]]
name = "web"
lv = "/dev/vg/web"

[[volume]]
name = "db"
lv = "/dev/vg/db"
before_snapshot = "psql -c 'CHECKPOINT'"
after_snapshot = ""
hook_timeout = "30s"

[[volume]]
name = "etc"
path = "/etc"
`

func TestParseHooks(t *testing.T) {
	c, err := Parse("x.toml", []byte(hooks))
	if err != nil {
		t.Fatal(err)
	}
	if c.OnSuccess == "" || c.OnFailure == "" || c.RunHookTimeout() != 2*time.Minute {
		t.Fatalf("%+v", c)
	}
	tests := []struct {
		vol           int
		before, after string
		timeout       time.Duration
	}{
		{0, "virsh domfsfreeze web", "virsh domfsthaw web", 2 * time.Minute},
		{1, "psql -c 'CHECKPOINT'", "", 30 * time.Second}, // its own, none, its own
	}
	for _, tt := range tests {
		b, a, to := c.SnapshotHooks(&c.Volumes[tt.vol])
		if b != tt.before || a != tt.after || to != tt.timeout {
			t.Errorf("volume %d: hooks %q, %q, %v; want %q, %q, %v", tt.vol, b, a, to, tt.before, tt.after, tt.timeout)
		}
	}
	if c, _ := Parse("x.toml", []byte("repo = \"/r\"\n[[volume]]\nname=\"a\"\nlv=\"/dev/vg/a\"\n")); c.RunHookTimeout() != 0 {
		t.Errorf("default hook_timeout %v, want 0 (the runner's default)", c.RunHookTimeout())
	}
}

func TestParseHookErrorsNameFileAndLine(t *testing.T) {
	vol := "[[volume]]\nname=\"a\"\nlv=\"/dev/vg/a\"\n"
	tests := []struct{ name, doc, want string }{
		{"bad timeout", "repo = \"/r\"\nhook_timeout = \"5 minutes\"\n" + vol, `x.toml:2: hook_timeout "5 minutes": use a positive duration`},
		{"zero timeout", "repo = \"/r\"\nhook_timeout = \"0s\"\n" + vol, "x.toml:2: hook_timeout \"0s\""},
		{"negative timeout", "repo = \"/r\"\nhook_timeout = \"-1m\"\n" + vol, "x.toml:2: hook_timeout \"-1m\""},
		{"timeout not a string", "repo = \"/r\"\nhook_timeout = 300\n" + vol, "x.toml:2:"},
		{"blank hook", "repo = \"/r\"\n\non_success = \"  \"\n" + vol, "x.toml:3: on_success is blank"},
		{"hook not a string", "repo = \"/r\"\nbefore_snapshot = [\"a\"]\n" + vol, "x.toml:2:"},
		{"unknown hook key", "repo = \"/r\"\nbefore_mount = \"x\"\n" + vol, `x.toml:2: unknown key "before_mount"`},
		{"volume timeout", "repo = \"/r\"\n" + vol + "hook_timeout = \"soon\"\n", `x.toml:5: volume 1: a: hook_timeout "soon"`},
		{"volume blank hook", "repo = \"/r\"\n" + vol + "\nafter_snapshot = \" \"\n", "x.toml:6: volume 1: a: after_snapshot is blank"},
		{"path volume hook", "repo = \"/r\"\n" + vol + "[[volume]]\nname=\"b\"\npath=\"/b\"\nbefore_snapshot = \"x\"\n", "x.toml:8: volume 2: b: before_snapshot needs lv or btrfs"},
		{"on_success per volume", "repo = \"/r\"\n" + vol + "on_success = \"x\"\n", `x.toml:5: unknown key "volume.on_success"`},
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

func TestFailureFallback(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		mode os.FileMode
		want Fallback
	}{
		{"invalid volume", "repo = \"/r\"\non_failure = \"notify\"\nhook_timeout = \"1m\"\nmetrics_file = \"/m.prom\"\n[[volume]]\nname = \"a\"\n",
			0o600, Fallback{Repo: "/r", OnFailure: "notify", HookTimeout: time.Minute, MetricsFile: "/m.prom"}},
		{"unknown key", "repo = \"/r\"\non_failure = \"notify\"\nrepository = 1\n", 0o600, Fallback{Repo: "/r", OnFailure: "notify"}},
		{"bad timeout", "on_failure = \"notify\"\nhook_timeout = \"x\"\n", 0o600, Fallback{OnFailure: "notify"}},
		{"syntax error", "on_failure = \"notify\"\nrepo = \n", 0o600, Fallback{}},
		{"wrong type", "on_failure = 7\n", 0o600, Fallback{}},
		{"group-writable", "on_failure = \"notify\"\n", 0o620, Fallback{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "lvback.toml")
			if err := os.WriteFile(p, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, tt.mode)
			if got := FailureFallback(p); got != tt.want {
				t.Errorf("FailureFallback = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := FailureFallback(filepath.Join(t.TempDir(), "missing.toml")); got != (Fallback{}) {
		t.Errorf("missing file: %+v", got)
	}
}

// copy_to names a second repository; an s3: one makes credentials_file
// and key_file apply although repo is a path.
func TestParseCopyTo(t *testing.T) {
	for _, to := range []string{"/mnt/offsite", "s3:https://s3.example.com/bucket/host1"} {
		doc := "repo = \"/r\"\ncopy_to = \"" + to + "\"\ncredentials_file = \"/etc/lvback/aws\"\n[[volume]]\nname=\"a\"\npath=\"/a\"\nmode=\"blocks\"\n"
		c, err := Parse("x.toml", []byte(doc))
		local := !strings.HasPrefix(to, "s3:")
		switch {
		case local && (err == nil || !strings.Contains(err.Error(), "applies to an s3: repo or copy_to only")):
			t.Errorf("copy_to %s with credentials_file: %v; want refused", to, err)
		case !local && (err != nil || c.CopyTo != to):
			t.Errorf("copy_to %s: %v, %+v", to, err, c)
		}
	}
}
