#!/usr/bin/env bash
# bench-thin.sh — what a block-mode incremental of a thin LV costs when lvback
# reads only what thin_delta says changed, against a --full-read incremental
# and a plain dd of the LV, after 0.1 %, 1 % and 10 % of lvback's chunks
# changed; and how long one file takes to get out of the backup through
# `lvback mount` + losetup + mount. Run it through bench/vm-thin.sh (which
# sets the sizes below and the disks); under emulation the figures compare
# the three readers with each other, not with real hardware.
#
# Per row: wall seconds, the bytes lvback says it read (info.json read_bytes)
# and the bytes read from the pool's data device (vg-pool_tdata,
# /sys/block/dm-N/stat field 3, after drop_caches): the independent measure.
#
# Disks: /dev/vda the VG (>= size + 512 MiB), /dev/vdb the repository (>=
# fill + 25 % of size + 512 MiB).
# shellcheck source=lib.sh
. /host/lib.sh

size_mib=4096 # the thin LV's virtual size (bench/vm-thin.sh: SIZE_MIB)
fill_pct=70   # how full of random data (bench/vm-thin.sh: FILL_PCT)
levels="0.1 1 10" # percent of lvback chunks changed per round

lvback=/host/lvback
repo=/mnt/repo
dev=/dev/vg/thin
chunk=$((2 << 20)) # blockdiff.DefaultChunkSize
mib=$((1 << 20))
nchunks=$((size_mib * mib / chunk))

tdata_dm=
tdata_sectors() { awk '{ print $3 }' "/sys/block/$tdata_dm/stat"; }
since() { awk -v a="$1" -v b="$(elapsed)" 'BEGIN { printf "%.1f", b - a }'; }

rows=()
# measure CASE CHANGE CMD...: runs CMD after drop_caches; records wall time,
# read_bytes of the newest backup when CMD is an lvback backup, tdata bytes.
measure() {
	local what=$1 change=$2 s0 t0 secs tbytes rb=- status=0
	shift 2
	sync
	echo 3 >/proc/sys/vm/drop_caches
	s0=$(tdata_sectors) t0=$(elapsed)
	"$@" >/tmp/measure.out 2>&1 || status=$?
	secs=$(since "$t0")
	tbytes=$((($(tdata_sectors) - s0) * 512))
	[ "$status" -eq 0 ] || { cat /tmp/measure.out; fail "$what: \`$*\` exited $status"; }
	if [ "$1" = backup ]; then
		rb=$(jq -r '.read_bytes // 0' "$(dirname "$("$lvback" list --repo "$repo" --name thin --json | jq -er 'last | .path')")/info.json")
		rb=$(awk -v b="$rb" 'BEGIN { printf "%.1f", b / 1048576 }')
		grep -E 'read .* of |full read:|^backup ' /tmp/measure.out | sed 's/^/    | /'
	fi
	rows+=("$(printf '%-8s %-22s %8s %12s %12s' "$change" "$what" "$secs" "$rb" "$(awk -v b="$tbytes" 'BEGIN { printf "%.1f", b / 1048576 }')")")
	echo "    $change $what: ${secs} s, read_bytes ${rb} MiB, tdata $(awk -v b="$tbytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB"
}

backup() { "$lvback" backup --repo "$repo" --name thin --lv "$dev" --mode blocks "$@"; }

step "setup: ${size_mib} MiB thin LV, ${fill_pct}% random data, ${nchunks} lvback chunks"
run pvcreate -q /dev/vda
run vgcreate -q vg /dev/vda
run mkfs.ext4 -q /dev/vdb
mkdir -p "$repo" /mnt/thin /mnt/served /mnt/img
run mount /dev/vdb "$repo"
run rmdir "$repo/lost+found"
run "$lvback" init --repo "$repo"
run lvcreate -q -y -L $((size_mib + 128))M -c 64K -T vg/pool
run lvcreate -q -y -V "${size_mib}M" -T vg/pool -n thin
run mkfs.ext4 -q "$dev"
run mount "$dev" /mnt/thin
t0=$(elapsed)
fill_files=$((size_mib * fill_pct / 100 / 64))
for i in $(seq 1 "$fill_files"); do
	run dd if=/dev/urandom of="/mnt/thin/random-$i" bs=1M count=64 status=none
done
echo "one file to get back" >/mnt/thin/needle.txt
run umount /mnt/thin # from here on only dd writes the LV
echo "    wrote ${fill_files} x 64 MiB in $(since "$t0") s"
for d in /sys/block/dm-*; do [ "$(cat "$d/dm/name")" = vg-pool_tdata ] && tdata_dm=${d##*/}; done
[ -n "$tdata_dm" ] || fail "no dm device vg-pool_tdata"
lvs -o lv_name,lv_size,data_percent vg | sed 's/^/    /'

step "first backup (full read)"
measure "first backup" - backup

for pct in $levels; do
	n=$(awk -v p="$pct" -v c="$nchunks" 'BEGIN { n = int(c * p / 100 + 0.5); print (n < 1 ? 1 : n) }')
	step "change ${pct}% of the chunks: ${n} chunks, one 4-64 KiB write each"
	for c in $(shuf -i 0-$((nchunks - 1)) -n "$n"); do
		blocks=$(((RANDOM % 16) + 1))                      # 4 KiB .. 64 KiB
		off=$((RANDOM % (chunk / 4096 - blocks)))            # 4 KiB blocks into the chunk
		dd if=/dev/urandom of="$dev" bs=4096 seek=$((c * chunk / 4096 + off)) count="$blocks" \
			conv=notrunc oflag=direct status=none
	done
	measure "thin_delta incremental" "${pct}%" backup
	measure "--full-read incremental" "${pct}%" backup --full-read
	measure "dd bs=4M iflag=direct" "${pct}%" dd if="$dev" of=/dev/null bs=4M iflag=direct
done

step "one file out of the backup: lvback mount + losetup -r + mount -o ro + cat"
# get_file: mounts the repository, the served image, reads needle.txt, undoes it all.
get_file() {
	local img loop pid i
	"$lvback" mount --repo "$repo" --name thin /mnt/served >/tmp/mount.out 2>&1 &
	pid=$!
	for i in $(seq 1 600); do
		img=$(find /mnt/served/thin -maxdepth 2 -name thin.img 2>/dev/null | sort | tail -n 1)
		[ -n "$img" ] && break
		kill -0 "$pid" 2>/dev/null || { cat /tmp/mount.out; return 1; }
		sleep 0.1
	done
	[ -n "$img" ] || return 1
	loop=$(losetup -r -f --show "$img") || return 1
	mount -o ro,noload "$loop" /mnt/img || return 1
	grep -qx "one file to get back" /mnt/img/needle.txt || return 1
	umount /mnt/img && losetup -d "$loop" && kill -TERM "$pid" && wait "$pid"
}
if modprobe fuse 2>/dev/null || [ -e /dev/fuse ]; then
	measure "mount+losetup+cat" - get_file
else
	echo "    skipped: no fuse module in the VM's initramfs"
fi

step "table (${size_mib} MiB thin LV, ${fill_pct}% full; chunk $((chunk / mib)) MiB; TCG emulation)"
echo "    change   case                    wall_s  read_MiB(lvback)  tdata_MiB"
printf '    %s\n' "${rows[@]}"
