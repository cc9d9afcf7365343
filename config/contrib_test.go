package config

import (
	"testing"

	"github.com/lvback/lvback/repo"
)

// TestContribExample loads the example config the package ships
// (contrib/lvback.toml) and checks it still describes the setup its
// comments promise: the classic Xen LV into /mnt/backup with daily
// retention and a mail on failure, a thin LV, a btrfs subvolume and a
// block-mode guest disk.
func TestContribExample(t *testing.T) {
	c, err := Load("../contrib/lvback.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Repo != "/mnt/backup" || c.OnFailure == "" || c.Retention == nil || c.Retention.KeepDaily == 0 {
		t.Errorf("repo %q, on_failure %q, retention %+v: not the classic nightly setup", c.Repo, c.OnFailure, c.Retention)
	}
	want := map[string]string{"xen-disk0": "lv files", "mail": "lv files", "data": "btrfs files", "vm-web-disk": "lv " + repo.ModeBlocks}
	got := map[string]string{}
	for i := range c.Volumes {
		v := &c.Volumes[i]
		mode := v.Mode
		if mode == "" {
			mode = repo.ModeFiles
		}
		got[v.Name] = v.Kind() + " " + mode
	}
	if len(got) != len(want) {
		t.Errorf("volumes %v, want %v", got, want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("volume %s: %q, want %q", name, got[name], w)
		}
	}
}
