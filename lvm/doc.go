// Package lvm owns the life of the snapshot a backup reads from: it makes a
// point-in-time snapshot of an LVM logical volume (classic or thin) and
// mounts it read-only, or makes a read-only snapshot of a btrfs subvolume;
// it reports how full a classic snapshot became during the backup; and it
// removes the snapshot again. Cleanup removes what a killed run left.
//
// Despite its name it owns btrfs snapshots too (btrfs.go, btrfs_linux.go):
// both are "the snapshot a backup reads from", behind one Snapshot
// interface.
//
// It talks to LVM only through its command-line tools (lvs, lvcreate,
// lvchange, lvremove) and to btrfs through btrfs(8), run without a shell
// and with LC_ALL=C; it mounts with mount(8) and finds mounts in
// /proc/self/mountinfo. It never removes or
// unmounts anything it did not make: a logical volume is lvback's only when
// it carries the tag "lvback" AND its name ends in
// "-lvback-<UTC yyyymmddThhmmss>". It never reads or writes file contents.
package lvm
