package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/repo"
)

// treeState lists every path under dir with its mode and mtime, to show
// that a dry run changed nothing there.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fi.Mode().String() + " " + fi.ModTime().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunDryRunPlan runs --dry-run on a config with every kind of source,
// good and bad: the plan is plain words naming each source, the bad ones
// are reported and fail the dry run with exit 2, and nothing is created.
func TestRunDryRunPlan(t *testing.T) {
	base := t.TempDir()
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	r, err := repo.Open(repoPath)
	if err != nil {
		t.Fatal(err)
	}
	layout := "layout " + r.Layout // hardlink, or subvolume on btrfs (make test-btrfs)
	if r.Layout == "" {
		layout = "layout " + repo.LayoutHardlink
	}
	mkTree(t, filepath.Join(base, "etc"), "hosts")
	mkTree(t, base, "disk.img", "notadir")
	vg := fakelvmtest.New(t, testVG) // lvs lists its volumes
	vg.AddImage("root", vg.Image("root", 1<<20))
	lv := vg.LV("root").Loop                 // the LV's device by another name than /dev/VG/LV
	plain := filepath.Join(base, "plaindev") // a block device that is no LV, as /dev/vda
	if err := unix.Mknod(plain, unix.S_IFBLK|0o600, int(unix.Mkdev(7, 200))); err != nil {
		t.Skipf("no block device node for the plain-disk case: %v", err)
	}
	good := `
[[volume]]
name = "etc"
path = "` + base + `/etc"
exclude = ["*.tmp"]
tags = ["conf"]
[[volume]]
name = "vm"
path = "` + base + `/disk.img"
mode = "blocks"
[[volume]]
name = "root"
lv = "` + lv + `"
snapshot_size = "2G"
before_snapshot = "sync"
`
	bad := `
[[volume]]
name = "gone"
path = "` + base + `/does-not-exist"
[[volume]]
name = "file"
path = "` + base + `/notadir"
[[volume]]
name = "sub"
btrfs = "` + base + `/etc"
[[volume]]
name = "disk"
lv = "` + plain + `"
`
	head := `repo = "` + repoPath + `"
metrics_file = "` + base + `/lvback.prom"
[defaults]
tags = ["nightly"]
[retention]
keep_daily = 7
keep_weekly = 4
`
	tests := []struct {
		name    string
		volumes string
		code    int
		bad     []string // volumes reported as problems
	}{
		{"good sources", good, exitOK, nil},
		{"missing and wrong-kind sources", good + bad, exitUsage, []string{"gone", "file", "sub", "disk"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, t.TempDir(), head+tc.volumes)
			before := treeState(t, base)
			code, out, stderr := run(t, "run", "--config", cfg, "--dry-run")
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q\n%s", code, tc.code, stderr, out)
			}
			for _, dump := range []string{"{", "&{", "0x"} {
				if strings.Contains(out, dump) {
					t.Errorf("plan holds %q, a Go value dump:\n%s", dump, out)
				}
			}
			for _, want := range []string{base + "/etc", base + "/disk.img", lv, "keep 7 daily, 4 weekly",
				"patterns *.tmp", `"sync"`, "2G", layout, "metrics written to " + base + "/lvback.prom", "LVM snapshot of size 2G"} {
				if !strings.Contains(out, want) {
					t.Errorf("plan does not say %q:\n%s", want, out)
				}
			}
			for _, v := range volumeBlocks(out) {
				isBad := false
				for _, b := range tc.bad {
					isBad = isBad || strings.HasPrefix(v, "volume "+b+"\n")
				}
				if strings.Contains(v, "PROBLEM") != isBad {
					t.Errorf("problem reported: %v, want %v:\n%s", !isBad, isBad, v)
				}
				tags := "  tags:       nightly\n"
				if strings.HasPrefix(v, "volume etc\n") {
					tags = "  tags:       conf, nightly\n"
				}
				if !strings.Contains(v+"\n", tags) {
					t.Errorf("volume does not say %q:\n%s", tags, v)
				}
			}
			if len(tc.bad) > 0 && (strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "not a directory") ||
				!strings.Contains(stderr, plain+" is a block device but not an LVM logical volume")) {
				t.Errorf("stderr is not one line naming the problems: %q", stderr)
			}
			checkPlanJSON(t, cfg, tc.code, tc.bad)
			if after := treeState(t, base); len(after) != len(before) {
				t.Errorf("dry run changed the tree: %d paths before, %d after", len(before), len(after))
			} else {
				for p, s := range before {
					if after[p] != s && p != base { // base: the config's temp dir is made in it
						t.Errorf("dry run changed %s: %s -> %s", p, s, after[p])
					}
				}
			}
		})
	}
}

// volumeBlocks splits a plan into its "volume NAME" paragraphs.
func volumeBlocks(plan string) []string {
	var out []string
	for _, p := range strings.Split(plan, "\n\n") {
		if strings.HasPrefix(p, "volume ") {
			out = append(out, p)
		}
	}
	return out
}

// TestRunDryRunMissingRepository: a repository that is not there is a
// problem of the config, and --dry-run does not create it.
func TestRunDryRunMissingRepository(t *testing.T) {
	base := t.TempDir()
	mkTree(t, filepath.Join(base, "etc"), "hosts")
	cfg := writeConfig(t, base, `repo = "`+base+`/repo"
[[volume]]
name = "etc"
path = "`+base+`/etc"
`)
	code, out, stderr := run(t, "run", "--config", cfg, "--dry-run")
	if code != exitUsage || !strings.Contains(out, "volume etc") || !strings.Contains(stderr, "lvback init") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2, the plan, and a hint to init", code, out, stderr)
	}
	if _, err := os.Lstat(filepath.Join(base, "repo")); err == nil {
		t.Fatal("--dry-run created the repository")
	}
}

// checkPlanJSON runs the dry run of cfg again with --json: one JSON
// object, the same exit code, every volume with its problems (those of
// bad and no others) and its effective tags.
func checkPlanJSON(t *testing.T, cfg string, code int, bad []string) {
	t.Helper()
	got, out, stderr := run(t, "run", "--config", cfg, "--dry-run", "--json")
	if got != code {
		t.Fatalf("--json: exit %d, want %d; stderr %q", got, code, stderr)
	}
	var p struct {
		Config   string
		Volumes  []map[string]json.RawMessage
		Problems []string
		Metrics  string `json:"metrics_file"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("--json: not one JSON object: %v\n%s", err, out)
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Config != cfg || p.Metrics == "" || len(p.Problems) != len(bad) {
		t.Fatalf("--json: %v; config %q, metrics %q, %d problems (want %d):\n%s", err, p.Config, p.Metrics, len(p.Problems), len(bad), out)
	}
	for _, v := range p.Volumes {
		for _, k := range []string{"name", "source", "kind", "mode", "repository", "snapshot", "hooks", "excludes", "retention", "tags", "problems"} {
			if _, ok := v[k]; !ok {
				t.Errorf("--json: volume has no %q: %s", k, out)
			}
		}
		var name string
		var tags, problems []string
		var ret struct {
			Daily int `json:"keep_daily"`
			Words string
		}
		_ = json.Unmarshal(v["name"], &name)
		_ = json.Unmarshal(v["tags"], &tags)
		_ = json.Unmarshal(v["problems"], &problems)
		_ = json.Unmarshal(v["retention"], &ret)
		wantTags := "nightly"
		if name == "etc" {
			wantTags = "conf,nightly" // sorted
		}
		if strings.Join(tags, ",") != wantTags || ret.Daily != 7 || ret.Words != "keep 7 daily, 4 weekly" {
			t.Errorf("--json: volume %s: tags %q (want %s), retention %+v", name, tags, wantTags, ret)
		}
		if (len(problems) > 0) != slices.Contains(bad, name) {
			t.Errorf("--json: volume %s: problems %q", name, problems)
		}
	}
}
