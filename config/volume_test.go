package config

import (
	"slices"
	"testing"
	"time"

	"github.com/lvback/lvback/engine"
)

const merged = `
repo = "/srv/backup"
before_snapshot = "freeze"
[defaults]
snapshot_size = "5G"
jobs = 6
checksum = true
require_snapshot = true
exclude = ["*.tmp"]
tags = ["nightly"]

[[volume]]
name = "inherits"
lv = "/dev/vg/a"

[[volume]]
name = "own"
lv = "/dev/vg/b"
mode = "blocks"
snapshot_size = "9G"
jobs = 3
checksum = false
require_snapshot = false
full_read = true
before_snapshot = ""
hook_timeout = "40s"

[[volume]]
name = "adds"
path = "/srv/data"
exclude = ["*.log"]
tags = ["data,nightly", "offsite"]
`

// VolumeOptions merges each volume's settings with the defaults: a
// volume's own value wins, an unset one takes the default.
func TestVolumeOptionsMergesDefaults(t *testing.T) {
	c, err := Parse("x.toml", []byte(merged))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		vol  int
		want func(o engine.VolumeOptions) bool
	}{
		{0, func(o engine.VolumeOptions) bool {
			return o.Backup.Repo == "/srv/backup" && o.Backup.Name == "inherits" && o.LV == "/dev/vg/a" && !o.Blocks &&
				o.Snapshot.Size == "5G" && o.Backup.Jobs == 6 && o.Backup.Checksum && o.RequireSnapshot && !o.FullRead &&
				slices.Equal(o.Backup.Excludes.Patterns, []string{"*.tmp"}) && o.Hooks.Before == "freeze" && o.Hooks.Timeout == 0 &&
				slices.Equal(o.Backup.Tags, []string{"nightly"})
		}},
		{1, func(o engine.VolumeOptions) bool {
			return o.Blocks && o.FullRead && o.Snapshot.Size == "9G" && o.Backup.Jobs == 3 && !o.Backup.Checksum && !o.RequireSnapshot &&
				o.Backup.Excludes.Empty() && o.Hooks.Before == "" && o.Hooks.Timeout == 40*time.Second
		}},
		{2, func(o engine.VolumeOptions) bool {
			return o.Path == "/srv/data" && o.LV == "" && slices.Equal(o.Backup.Excludes.Patterns, []string{"*.tmp", "*.log"}) &&
				slices.Equal(o.Backup.Tags, []string{"data", "nightly", "offsite"})
		}},
	}
	for _, tt := range tests {
		if o := c.VolumeOptions(&c.Volumes[tt.vol]); !tt.want(o) {
			t.Errorf("volume %s: %+v", c.Volumes[tt.vol].Name, o)
		}
	}
}
