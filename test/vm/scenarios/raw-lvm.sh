#!/usr/bin/env bash
# raw-lvm.sh — proves the VM harness with real LVM and no lvback: classic
# snapshots of ext4 and XFS, snapshot overflow, a full VG, a thin pool with a
# thin snapshot, and (when btrfs-progs is in the image) a btrfs snapshot.
# Disks: /dev/vda (>= 1 GiB) for the VG.
# shellcheck source=lib.sh
. /host/lib.sh

step "setup"
echo "lvm: $(lvm version | head -n 1 | sed 's/^ *//'), kernel $(uname -r)"
check "pvcreate /dev/vda" pvcreate -q /dev/vda
check "vgcreate vg" vgcreate -q vg /dev/vda
mkdir -p /mnt/origin /mnt/snap

# classic_snapshot FS MKFS... : origin LV with FS, snapshot, mount it ro, change
# the origin, and the snapshot must still show the old content.
classic_snapshot() {
	local fs=$1 size=$2 opts=$3
	step "classic snapshot on $fs"
	run lvcreate -q -y -L "$size" -n "$fs" vg
	case $fs in
		ext4) run mkfs.ext4 -q /dev/vg/ext4 ;;
		xfs) run mkfs.xfs -q /dev/vg/xfs ;;
	esac
	run mount /dev/vg/"$fs" /mnt/origin
	make_tree /mnt/origin "$fs"
	echo old >/mnt/origin/file && sync
	check "$fs: lvcreate -s -L 50M" lvcreate -q -y -s -L 50M -n "$fs-snap" vg/"$fs"
	check "$fs: lv_attr says snapshot (s)" attr_is vg/"$fs-snap" 1 s
	check "$fs: mount snapshot -o $opts" mount -o "$opts" /dev/vg/"$fs-snap" /mnt/snap
	echo new >/mnt/origin/file
	rm /mnt/origin/docs/note-3.txt
	dd if=/dev/urandom of=/mnt/origin/bin/blob bs=1M count=2 conv=notrunc oflag=direct status=none
	sync
	check "$fs: snapshot still shows the old content" grep -qx old /mnt/snap/file
	check "$fs: snapshot still has a file deleted on the origin" test -f /mnt/snap/docs/note-3.txt
	check "$fs: origin shows the new content" grep -qx new /mnt/origin/file
	check "$fs: snapshot and origin blobs differ" not cmp -s /mnt/origin/bin/blob /mnt/snap/bin/blob
	local json
	json=$(lvs --reportformat json -o lv_name,lv_attr,origin,snap_percent,data_percent vg/"$fs-snap")
	echo "    $(echo "$json" | tr -d '\n' | tr -s ' ')"
	check "$fs: lvs --reportformat json shows snap_percent" grep -q '"snap_percent":"[0-9]' <<<"$json"
	check "$fs: umount snapshot" umount /mnt/snap
	check "$fs: lvremove -f snapshot" lvremove -q -f vg/"$fs-snap"
	check_fails "$fs: snapshot gone" lvs vg/"$fs-snap"
	run umount /mnt/origin
}

classic_snapshot ext4 200M ro
# mkfs.xfs (xfsprogs >= 5.19) refuses file systems under 300 MB.
classic_snapshot xfs 320M ro,nouuid

step "snapshot overflow"
run mount /dev/vg/ext4 /mnt/origin
check "lvcreate -s -L 8M (2 extents)" lvcreate -q -y -s -L 8M -n ovf vg/ext4
check "overflow snapshot mounts" mount -o ro /dev/vg/ovf /mnt/snap
check "write 24 MiB to the origin with oflag=direct" dd if=/dev/zero of=/mnt/origin/fill bs=1M count=24 oflag=direct status=none
sync
echo "    lvs after overflow: $(lvs --noheadings -o lv_name,lv_attr,snap_percent vg/ovf | tr -s ' ')"
echo "    dmsetup status: $(dmsetup status vg-ovf)"
check "overflowed snapshot: lv_attr says invalid (I)" attr_is vg/ovf 5 I
check "overflowed snapshot: dmsetup status says Invalid" grep -q Invalid <<<"$(dmsetup status vg-ovf)"
check_fails "reading the overflowed snapshot fails" dd if=/dev/vg/ovf of=/dev/null bs=1M status=none
check "umount overflowed snapshot" umount /mnt/snap
check "lvremove -f overflowed snapshot" lvremove -q -f vg/ovf
run rm /mnt/origin/fill
run umount /mnt/origin

step "VG without free extents"
check "fill the VG: lvcreate -l 100%FREE" lvcreate -q -y -l 100%FREE -n filler vg
out=$(lvcreate -q -y -s -L 8M -n nospace vg/ext4 2>&1) && fail "snapshot in a full VG succeeded"
echo "    lvcreate said: $out"
check "lvcreate in a full VG says why" grep -qi "insufficient free space" <<<"$out"
check "lvremove filler" lvremove -q -f vg/filler

step "thin pool, thin LV, thin snapshot"
check "lvcreate thin pool 128M" lvcreate -q -y -L 128M -T vg/pool
check "lvcreate thin LV 256M" lvcreate -q -y -V 256M -T vg/pool -n thin
run mkfs.ext4 -q /dev/vg/thin
run mount /dev/vg/thin /mnt/origin
make_tree /mnt/origin thin
echo old >/mnt/origin/file && sync
check "lvcreate -s thin snapshot (no size)" lvcreate -q -y -s -n thin-snap vg/thin
echo "    thin snapshot attr: $(lv_attr vg/thin-snap)"
check "thin snapshot has activation skip (k)" attr_is vg/thin-snap 10 k
check_fails "thin snapshot is inactive" test -e /dev/vg/thin-snap
check "lvchange -ay -K thin snapshot" lvchange -q -ay -K vg/thin-snap
check "thin snapshot mounts ro (nouuid not needed for ext4)" mount -o ro /dev/vg/thin-snap /mnt/snap
echo new >/mnt/origin/file && sync
check "thin snapshot still shows the old content" grep -qx old /mnt/snap/file
json=$(lvs --reportformat json -o lv_name,lv_attr,pool_lv,data_percent vg/thin-snap)
echo "    $(echo "$json" | tr -d '\n' | tr -s ' ')"
check "lvs json shows data_percent of the thin snapshot" grep -q '"data_percent":"[0-9]' <<<"$json"
check "umount thin snapshot" umount /mnt/snap
check "lvremove -f thin snapshot" lvremove -q -f vg/thin-snap
run umount /mnt/origin
check "thin_check is present (lvm runs it on pool activation)" test -x /usr/sbin/thin_check
check "deactivate the thin LV and pool" lvchange -q -an vg/thin vg/pool
check "reactivate them (runs thin_check)" lvchange -q -ay vg/pool vg/thin

if command -v mkfs.btrfs >/dev/null; then
	step "btrfs on an LV"
	run lvcreate -q -y -L 256M -n btr vg
	check "mkfs.btrfs" mkfs.btrfs -q /dev/vg/btr
	check "mount btrfs" mount /dev/vg/btr /mnt/origin
	echo old >/mnt/origin/file
	check "btrfs subvolume snapshot -r" btrfs -q subvolume snapshot -r /mnt/origin /mnt/origin/.snap
	echo new >/mnt/origin/file
	check "btrfs snapshot shows the old content" grep -qx old /mnt/origin/.snap/file
	run btrfs -q subvolume delete /mnt/origin/.snap
	run umount /mnt/origin
fi

step "final state"
lvs -a -o lv_name,lv_attr,lv_size,pool_lv,origin,data_percent vg | sed 's/^/    /'
want="ext4 pool thin xfs"
command -v mkfs.btrfs >/dev/null && want="btr $want"
check "only the LVs made here are left ($want)" test "$(lvs --noheadings -o lv_name vg | tr -d ' ' | sort | xargs)" = "$want"
check "no snapshot mount left" not grep -q ' /mnt/snap ' /proc/mounts
