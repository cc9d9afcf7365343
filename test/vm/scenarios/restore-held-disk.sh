#!/usr/bin/env bash
# restore-held-disk.sh — a block restore onto a whole disk must refuse it
# while one of its partitions is in use, naming the partition and its user,
# and leave the disk untouched; onto a free whole disk it writes the image.
# Disks: /dev/vda (>= 256 MiB) is partitioned: vda1 an LVM PV with an active
# LV (device-mapper holds vda1), vda2 an ext4 file system that gets mounted
# and then backs a loop device; /dev/vdb (>= 64 MiB) stays unpartitioned, the
# free target. The repository and the image live on /tmp (tmpfs).
# shellcheck source=lib.sh
. /host/lib.sh
lvback=/host/lvback
repo=/tmp/repo
img=/tmp/src.img

# wait_dev DEV: the kernel made the device node (no udev: devtmpfs does).
wait_dev() {
	local i
	for i in $(seq 1 50); do
		[ -b "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# partition_vda writes a DOS label: vda1 96 MiB for LVM, vda2 the rest.
partition_vda() { printf 'label: dos\n,96MiB,8e\n,,83\n' | sfdisk -q /dev/vda; }

# first_mib DEV prints the sha256 of the first MiB of DEV (partition table,
# LVM label, superblocks).
first_mib() { head -c 1M "$1" | sha256sum | cut -d' ' -f1; }

# refused WHAT WANT...: `lvback restore --target /dev/vda` fails, its error
# names every WANT, and the first MiB of the disk and of each partition is
# as before it.
refused() {
	local what=$1 out status=0 w disk_sum p1_sum p2_sum
	shift
	sync
	disk_sum=$(first_mib /dev/vda) p1_sum=$(first_mib /dev/vda1) p2_sum=$(first_mib /dev/vda2)
	out=$("$lvback" restore --repo "$repo" --name img --target /dev/vda 2>&1) || status=$?
	[ "$status" -ne 0 ] || _report "$what: restore onto /dev/vda (expected a failure)" "$status" "$out" lvback restore
	for w in "$@"; do
		grep -qF -- "$w" <<<"$out" || _report "$what: the error names \"$w\"" "$status" "$out" lvback restore
	done
	echo "    lvback said: $out"
	ok "$what: restore onto /dev/vda refused (exit $status), naming: $*"
	check "$what: /dev/vda's first MiB unchanged" test "$(first_mib /dev/vda)" = "$disk_sum"
	check "$what: /dev/vda1's first MiB unchanged" test "$(first_mib /dev/vda1)" = "$p1_sum"
	check "$what: /dev/vda2's first MiB unchanged" test "$(first_mib /dev/vda2)" = "$p2_sum"
}

step "setup"
check "sfdisk: vda1 (LVM) and vda2 (ext4) on /dev/vda" partition_vda
check "the kernel made /dev/vda1" wait_dev /dev/vda1
check "the kernel made /dev/vda2" wait_dev /dev/vda2
sfdisk -d /dev/vda | sed 's/^/    /'
run pvcreate -q /dev/vda1
run vgcreate -q held /dev/vda1
check "lvcreate held/lv (active)" lvcreate -q -y -L 32M -n lv held
dm=$(ls /sys/class/block/vda1/holders)
check "device-mapper's held-lv ($dm) holds vda1" test "$(cat "/sys/class/block/$dm/dm/name" 2>&1)" = held-lv
# No lazy initialisation: nothing but lvback may write the disk meanwhile.
run mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 /dev/vda2
mkdir -p /mnt/p2
check "mount /dev/vda2" mount /dev/vda2 /mnt/p2
echo "on the partition" >/mnt/p2/file && sync

# A 16 MiB image: random data, text, and a hole.
run dd if=/dev/urandom of="$img" bs=1M count=4 status=none
seq 1 200000 | dd of="$img" bs=1M seek=6 conv=notrunc status=none
run truncate -s 16M "$img"
img_sum=$(sha256sum "$img" | cut -d' ' -f1)
check "lvback init" "$lvback" init --repo "$repo"
check "block backup of the image" "$lvback" backup --repo "$repo" --name img --mode blocks --source "$img"

step "whole disk with a held and a mounted partition"
refused "vda1 held, vda2 mounted" "vda1 is held by $dm" "vda2 is mounted on /mnt/p2"

step "whole disk with a held partition"
check "umount /dev/vda2" umount /mnt/p2
refused "vda1 held" "vda1 is held by $dm"

step "whole disk with a partition behind a loop device"
check "vgchange -an held" vgchange -q -an held
check "nothing holds vda1 any more" test -z "$(ls /sys/class/block/vda1/holders)"
loop=$(losetup -f --show /dev/vda2)
refused "vda2 backs $loop" "vda2 is used by $(basename "$loop")"
check "losetup -d $loop" losetup -d "$loop"
check "the file system on vda2 is intact" e2fsck -fn /dev/vda2

step "free whole disk"
check "restore onto the unpartitioned /dev/vdb" "$lvback" restore --repo "$repo" --name img --target /dev/vdb
check "/dev/vdb's first 16 MiB are the image (sha256)" test "$(head -c 16M /dev/vdb | sha256sum | cut -d' ' -f1)" = "$img_sum"
