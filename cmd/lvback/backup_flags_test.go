package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/lvback/lvback/engine"
)

// Every flag of `lvback backup` lands, with a distinctive value, in the
// options engine.BackupVolume gets, in both modes; a flag that does not
// apply to a mode is a usage error there, never silently dropped (as
// --jobs once was in block mode). A flag without a row fails the test.
func TestBackupFlagsReachBothModes(t *testing.T) {
	dir := t.TempDir()
	img, patterns := filepath.Join(dir, "disk.img"), filepath.Join(dir, "patterns")
	for _, f := range []struct{ path, data string }{{img, ""}, {patterns, "*.cache\n"}} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// filesOnly rows are usage errors in block mode, blockOnly rows in
	// file mode; lv rows back up an LV
	// instead of --source (hooks and snapshot size need a snapshot).
	type row struct {
		args      []string
		lv        bool
		filesOnly bool
		blockOnly bool
		ok        func(b *backupFlags, vo engine.VolumeOptions) bool
	}
	rows := map[string]row{
		"repo": {args: []string{"--repo", "/srv/other"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Backup.Repo == "/srv/other" }},
		"name": {args: []string{"--name", "vol-7"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Backup.Name == "vol-7" }},
		"source": {ok: func(_ *backupFlags, vo engine.VolumeOptions) bool {
			return (vo.Path == dir && !vo.Blocks) || (vo.Path == img && vo.Blocks)
		}},
		"mode": {ok: func(b *backupFlags, vo engine.VolumeOptions) bool { return vo.Blocks == (b.mode == "blocks") }},
		"lv": {lv: true, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool {
			return vo.LV == "/dev/vg/lv7" && vo.Path == "" && vo.Btrfs == ""
		}},
		"snapshot-size": {lv: true, args: []string{"--snapshot-size", "7G"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Snapshot.Size == "7G" }},
		// The engine refuses a btrfs subvolume in block mode, naming why.
		"btrfs": {args: []string{"--source=", "--btrfs", "/mnt/sub7"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool {
			return vo.Btrfs == "/mnt/sub7" && vo.Path == ""
		}},
		"jobs":             {args: []string{"--jobs", "7"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Backup.Jobs == 7 }},
		"metrics-file":     {args: []string{"--metrics-file", "/m7.prom"}, ok: func(b *backupFlags, _ engine.VolumeOptions) bool { return b.metricsFile == "/m7.prom" }},
		"checksum":         {args: []string{"--checksum"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Backup.Checksum }},
		"require-snapshot": {args: []string{"--require-snapshot"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.RequireSnapshot }},
		"full-read":        {blockOnly: true, args: []string{"--full-read"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.FullRead }},
		"exclude": {filesOnly: true, args: []string{"--exclude", "*.tmp7"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool {
			return slices.Contains(vo.Backup.Excludes.Patterns, "*.tmp7")
		}},
		"exclude-file": {filesOnly: true, args: []string{"--exclude-file", patterns}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool {
			return slices.Contains(vo.Backup.Excludes.Patterns, "*.cache")
		}},
		"exclude-caches": {filesOnly: true, args: []string{"--exclude-caches"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Backup.Excludes.Caches }},
		"exclude-if-present": {filesOnly: true, args: []string{"--exclude-if-present", ".nobackup7"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool {
			return slices.Equal(vo.Backup.Excludes.IfPresent, []string{".nobackup7"})
		}},
		"before-snapshot": {lv: true, args: []string{"--before-snapshot", "fsfreeze7"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Hooks.Before == "fsfreeze7" }},
		"after-snapshot":  {lv: true, args: []string{"--after-snapshot", "thaw7"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Hooks.After == "thaw7" }},
		"tag": {args: []string{"--tag", "t7,u7"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool {
			return slices.Equal(vo.Backup.Tags, []string{"t7,u7"})
		}},
		"hook-timeout": {lv: true, args: []string{"--hook-timeout", "7s"}, ok: func(_ *backupFlags, vo engine.VolumeOptions) bool { return vo.Hooks.Timeout == 7*time.Second }},
	}
	backupCmd(&globals{}).Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := rows[f.Name]; !ok {
			t.Errorf("flag --%s of backup has no row here: add one that checks it reaches engine.VolumeOptions", f.Name)
		}
	})
	for name, r := range rows {
		for _, mode := range []string{"files", "blocks"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				args := []string{"--mode", mode, "--repo", "/srv/repo", "--name", "v"}
				switch {
				case r.lv:
					args = append(args, "--lv", "/dev/vg/lv7")
				case mode == "files":
					args = append(args, "--source", dir)
				default:
					args = append(args, "--source", img)
				}
				fs := pflag.NewFlagSet("backup", pflag.ContinueOnError)
				b := addBackupFlags(fs)
				if err := fs.Parse(append(args, r.args...)); err != nil {
					t.Fatal(err)
				}
				vo, err := b.options()
				if (r.filesOnly && mode == "blocks") || (r.blockOnly && mode == "files") {
					if !errors.As(err, new(usageError)) {
						t.Fatalf("%v: err %v, want a usage error (%s mode does not apply it)", r.args, err, mode)
					}
					return
				}
				if err != nil {
					t.Fatalf("%v: %v", r.args, err)
				}
				if !r.ok(b, vo) {
					t.Errorf("%v in %s mode: options %+v lack it", r.args, mode, vo)
				}
			})
		}
	}
}
