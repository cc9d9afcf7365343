package config

import (
	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/lvm"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/retention"
)

// VolumeOptions returns what engine.BackupVolume needs to back up v into
// the config's repository: v's own settings, and for every one v leaves
// unset the [defaults] one (snapshot_size, jobs, checksum,
// require_snapshot), v's exclude rules on top of the defaults' (Excludes),
// its tags on top of the defaults' (Tags) and its snapshot hooks (SnapshotHooks). This is the one place where a
// volume's settings are merged with the defaults. What belongs to the
// run rather than the config (Locked, Log, Progress) is left for the
// caller.
func (c *Config) VolumeOptions(v *Volume) engine.VolumeOptions {
	o := engine.VolumeOptions{
		Backup: engine.BackupOptions{Repo: c.Repo, Name: v.Name, Jobs: v.Jobs, Checksum: c.Defaults.Checksum,
			Excludes: c.Excludes(v), Tags: c.Tags(v)},
		Path: v.Path, LV: v.LV, Btrfs: v.Btrfs, Blocks: v.Mode == repo.ModeBlocks,
		Snapshot:        lvm.Options{Size: v.SnapshotSize},
		RequireSnapshot: c.Defaults.RequireSnapshot, FullRead: v.FullRead,
	}
	if o.Backup.Jobs == 0 {
		o.Backup.Jobs = c.Defaults.Jobs
	}
	if v.Checksum != nil {
		o.Backup.Checksum = *v.Checksum
	}
	if o.Snapshot.Size == "" {
		o.Snapshot.Size = c.Defaults.SnapshotSize
	}
	if v.RequireSnapshot != nil {
		o.RequireSnapshot = *v.RequireSnapshot
	}
	if v.FullReadEvery != "" {
		o.FullReadEvery, _ = retention.ParseDuration(v.FullReadEvery) // validated by Load
	}
	o.Hooks.Before, o.Hooks.After, o.Hooks.Timeout = c.SnapshotHooks(v)
	return o
}
