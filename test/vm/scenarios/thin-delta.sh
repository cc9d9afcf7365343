#!/usr/bin/env bash
# thin-delta.sh — block-mode backups of a thin LV that read only what
# thin_delta says changed since the previous run's kept snapshot (contract:
# issue 15 part 1). A full first run, then incrementals after known changes:
# writes at known offsets, writes across lvback's chunk boundaries, a discard,
# an lvextend of the origin (a full read, saying why) and no change at all;
# lvback killed at three points (thin_delta, lvrename, lvremove of the old kept
# snapshot), each followed by `lvback cleanup` and a good backup; cleanup keeps
# the kept snapshot, cleanup --kept removes it; a classic LV in block mode
# keeps no snapshot.
#
# Oracles that do not trust lvback: a copy of /dev/vg/thin taken right before
# a run (nothing writes it meanwhile) compared byte for byte with the restored
# image (cmp: sha256sum runs at ~25 MB/s under emulation),
# and the bytes read from the pool's data device (vg-pool_tdata,
# /sys/block/dm-N/stat field 3, after drop_caches) during the run, which must
# follow the size of the change, not of the volume.
#
# Checks of the contract (kept snapshots, info.json's read_mode and
# changed_bytes, the printed line, tdata bytes of an incremental, the kill
# points) record a failure and let the scenario go on (fail_later), so one
# run lists every missing piece; the content oracle ends it at once.
#
# Disks: /dev/vda (>= 1 GiB) the VG, /dev/vdb (>= 512 MiB) the repository
# (ext4 at /mnt/repo). The copy and the restored image live on /tmp (tmpfs,
# 2 x 192 MiB at most).
# shellcheck source=lib.sh
. /host/lib.sh

lvback=/host/lvback
repo=/mnt/repo
dev=/dev/vg/thin
# Small enough that the sha256 oracles stay quick under emulation (~25 MB/s):
# bench/vm-thin.sh measures bigger volumes.
thin_size_mib=128 # the thin LV's virtual size (64 lvback chunks)
fill_mib=48       # random data written through ext4 at setup
# lvback's block chunk size: blockdiff.DefaultChunkSize (= repo.DefaultBlockChunkSize).
chunk=$((2 << 20))
mib=$((1 << 20))
wrap=/tmp/wrap # kill-point wrappers, first in lvback's PATH

# expect WHAT CMD...: a check of the thin_delta contract; a failure is
# recorded (fail_later) and the scenario goes on.
expect() {
	local what=$1 out status=0
	shift
	out=$("$@" 2>&1) || status=$?
	if [ "$status" -eq 0 ]; then
		ok "$what"
	else
		fail_later "$what: \`$*\` exited $status${out:+: $(tail -n 3 <<<"$out" | tr '\n' ' ')}"
	fi
}

# --- volumes and snapshots ---

# snaps prints the names of thin's snapshots lvback made (plain and kept).
snaps() { lvs --noheadings -o lv_name vg | tr -d ' ' | grep -E '^thin-lvback-' || true; }
kept_names() { snaps | grep -E '^thin-lvback-kept-[0-9]{8}T[0-9]{6}$' || true; }
plain_names() { snaps | grep -E '^thin-lvback-[0-9]{8}T[0-9]{6}$' || true; }
count() { if [ -z "$1" ]; then echo 0; else wc -l <<<"$1" | tr -d ' '; fi; }

# kept_ok: exactly one kept snapshot, tagged lvback-kept, inactive.
kept_ok() {
	local k attr tags
	k=$(kept_names)
	[ "$(count "$k")" = 1 ] || { echo "kept snapshots: [$k]"; return 1; }
	tags=$(lvs --noheadings -o lv_tags "vg/$k" | tr -d ' ')
	attr=$(lv_attr "vg/$k")
	[[ ",$tags," == *,lvback-kept,* ]] || { echo "$k tags: $tags"; return 1; }
	[ "$(cut -c5 <<<"$attr")" != a ] || { echo "$k is active: $attr"; return 1; }
}

show_lvs() { lvs -a -o lv_name,lv_attr,lv_size,origin,data_percent,lv_tags vg 2>&1 | sed 's/^/    /'; }

# --- the pool's data device ---

tdata_dm=
find_tdata() {
	local d
	for d in /sys/block/dm-*; do
		if [ "$(cat "$d/dm/name")" = vg-pool_tdata ]; then
			tdata_dm=${d##*/}
			return 0
		fi
	done
	return 1
}
tdata_sectors() { awk '{ print $3 }' "/sys/block/$tdata_dm/stat"; }

# --- the changes and their lvback chunks ---

declare -A changed=() # lvback chunk indices written since the last backup
# touch_chunks OFF LEN: bytes [OFF, OFF+LEN) of the LV changed.
touch_chunks() {
	local c
	for c in $(seq $(($1 / chunk)) $((($1 + $2 - 1) / chunk))); do changed[$c]=1; done
}
# write_at OFF LEN: LEN random bytes at OFF (both multiples of 4096) straight to the LV.
write_at() {
	run dd if=/dev/urandom of="$dev" bs=4096 seek=$(($1 / 4096)) count=$(($2 / 4096)) conv=notrunc oflag=direct status=none
	touch_chunks "$1" "$2"
}

# --- a backup and its checks ---

last_dir() { dirname "$("$lvback" list --repo "$repo" --name "$1" --json | jq -er 'last | .path')"; }
complete_count() { "$lvback" list --repo "$repo" --name "$1" --json 2>/dev/null | jq '[.[] | select(.complete == true)] | length'; }

# lvback_run OUT ARGS...: runs lvback with the wrappers first in PATH; sets
# run_status, run_seconds and tdata_bytes (read from the pool's data device).
lvback_run() {
	local out=$1 s0 s1 t0
	shift
	sync
	echo 3 >/proc/sys/vm/drop_caches
	s0=$(tdata_sectors) t0=$(elapsed)
	run_status=0
	PATH=$wrap:$PATH "$lvback" "$@" >"$out" 2>&1 || run_status=$?
	s1=$(tdata_sectors)
	run_seconds=$(awk -v a="$t0" -v b="$(elapsed)" 'BEGIN { printf "%.1f", b - a }')
	tdata_bytes=$(((s1 - s0) * 512))
	sed 's/^/    | /' "$out" | tail -n 8
}

# snap_content LV: copies LV's content to /tmp/want.img (tmpfs), the
# oracle for the next backup (nothing writes the LV meanwhile).
snap_content() { dd if="$1" of=/tmp/want.img bs=4M iflag=direct status=none; }

# restored_matches NAME: restores NAME's newest backup to a file (tmpfs),
# which must equal /tmp/want.img byte for byte; prints both sha256s.
restored_matches() {
	local img=/tmp/restored.img status=0
	rm -f "$img"
	"$lvback" restore --repo "$repo" --name "$1" --target "$img" >/dev/null 2>&1 || return 1
	cmp /tmp/want.img "$img" || status=1
	[ "$status" -eq 0 ] || sha256sum /tmp/want.img "$img"
	rm -f "$img"
	return "$status"
}

# backup_thin WHAT MODE [ARGS...]: backs up the thin LV, MODE is the
# read_mode the contract asks for (thin_delta or full); the changed chunks
# are ${!changed[@]}. Checks the restored image against the LV's sha256
# taken right before, the kept snapshot, info.json and the tdata bytes.
backup_thin() {
	local what=$1 mode=$2 info n t0 size read_bytes changed_bytes rm reason limit
	shift 2
	n=${#changed[@]}
	run snap_content "$dev"
	size=$(blockdev --getsize64 "$dev")
	lvback_run /tmp/backup.out backup --repo "$repo" --name thin --lv "$dev" --mode blocks "$@"
	[ "$run_status" -eq 0 ] || fail "$what: lvback backup exited $run_status"
	ok "$what: lvback backup exits 0 (${run_seconds} s)"
	info=$(last_dir thin)/info.json
	rm=$(jq -r '.read_mode // "none"' "$info")
	reason=$(jq -r '.full_read_reason // ""' "$info")
	read_bytes=$(jq -r '.read_bytes // 0' "$info")
	changed_bytes=$(jq -r '.changed_bytes // 0' "$info")
	printf '    %s: %d chunks changed (%d MiB), read_mode=%s%s read_bytes=%d changed_bytes=%s tdata_read=%d (%.1f MiB) of %d MiB volume\n' \
		"$what" "$n" $((n * chunk / mib)) "$rm" "${reason:+ ($reason)}" "$read_bytes" "$changed_bytes" \
		"$tdata_bytes" "$(awk -v b="$tdata_bytes" 'BEGIN { print b / 1048576 }')" $((size / mib))
	tdata_log+=("$(printf '%-28s %-10s %6d %10d %10s %12d' "$what" "$rm" "$n" "$read_bytes" "$changed_bytes" "$tdata_bytes")")
	t0=$(elapsed)
	check "$what: restored image equals /dev/vg/thin at backup time" restored_matches thin
	echo "    restore and compare took $(awk -v a="$t0" -v b="$(elapsed)" 'BEGIN { printf "%.1f", b - a }') s"
	check "$what: no plain thin-lvback-<ts> snapshot left" test -z "$(plain_names)"
	expect "$what: one kept snapshot thin-lvback-kept-*, tagged lvback-kept, inactive" kept_ok
	expect "$what: info.json read_mode is $mode" test "$rm" = "$mode"
	if [ "$mode" = thin_delta ]; then
		expect "$what: info.json changed_bytes = $n lvback chunks" test "$changed_bytes" = $((n * chunk))
		expect "$what: read_bytes $read_bytes <= $n lvback chunks" test "$read_bytes" -le $((n * chunk))
		expect "$what: prints \"read X of Y (thin_delta: Z changed since the kept snapshot)\"" \
			grep -Eq 'read [0-9.]+ [KMGT]?i?B of [0-9.]+ [KMGT]?i?B \(thin_delta: [0-9.]+ [KMGT]?i?B changed since the kept snapshot\)' /tmp/backup.out
		# The pool's data device: what the run read follows the change.
		# (2x: readahead past a chunk's end; 4 MiB: what lvback may read
		# once per run. A full read reads > fill_mib.)
		limit=$((2 * n * chunk + 4 * mib))
		expect "$what: tdata read $tdata_bytes <= 2 x changed chunks + 4 MiB ($limit)" test "$tdata_bytes" -le "$limit"
	else
		expect "$what: info.json says why it read everything (full_read_reason)" test -n "$reason"
		expect "$what: prints \"full read: <reason>\"" grep -q 'full read: ' /tmp/backup.out
		# The independent oracle of a full read: it read the data in the pool.
		check "$what: a full read read >= the ${fill_mib} MiB written at setup from tdata ($tdata_bytes)" \
			test "$tdata_bytes" -ge $((fill_mib * mib))
	fi
	changed=()
}

# kill_run WHAT TOOL: a backup that the wrapper of TOOL kills (SIGKILL).
kill_run() {
	local what=$1 tool=$2 before
	before=$(complete_count thin)
	: >"/tmp/kill-at-$tool"
	lvback_run /tmp/kill.out backup --repo "$repo" --name thin --lv "$dev" --mode blocks
	echo "    $what: lvback exited $run_status after ${run_seconds} s; complete backups $before -> $(complete_count thin)"
	if [ -e "/tmp/kill-at-$tool" ]; then
		rm -f "/tmp/kill-at-$tool"
		fail_later "$what: lvback never ran $tool (the kill point was not reached; exit $run_status)"
		killed=0
	else
		check "$what: lvback was killed in $tool (exit $run_status)" test "$run_status" -eq 137
		killed=1
	fi
	show_lvs
}

step "setup"
run pvcreate -q /dev/vda
run vgcreate -q vg /dev/vda
run mkfs.ext4 -q /dev/vdb
mkdir -p "$repo" /mnt/thin "$wrap"
run mount /dev/vdb "$repo"
run rmdir "$repo/lost+found"
check "lvback init" "$lvback" init --repo "$repo"
check "thin pool with 64K chunks" lvcreate -q -y -L 256M -c 64K -T vg/pool
check "thin LV of ${thin_size_mib} MiB" lvcreate -q -y -V "${thin_size_mib}M" -T vg/pool -n thin
run mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
run mount "$dev" /mnt/thin
for i in $(seq 1 $((fill_mib / 16))); do
	run dd if=/dev/urandom of="/mnt/thin/random-$i" bs=1M count=16 status=none
done
run umount /mnt/thin # from here on only dd and blkdiscard write the LV
find_tdata || fail "no dm device named vg-pool_tdata in /sys/block/dm-*/dm/name"
ok "the pool's data device vg-pool_tdata is $tdata_dm"
echo "    pool chunk_size $(lvs --noheadings -o chunk_size vg/pool | tr -d ' ')"
show_lvs

# The wrappers: when /tmp/kill-at-TOOL exists they delete it and SIGKILL
# their parent (lvback); otherwise they run the real tool.
for tool in thin_delta lvrename lvremove; do
	cat >"$wrap/$tool" <<EOF
#!/usr/bin/bash
if [ -e /tmp/kill-at-$tool ]; then
	rm -f /tmp/kill-at-$tool
	kill -9 \$PPID
	exit 1
fi
exec /usr/sbin/$tool "\$@"
EOF
	chmod 755 "$wrap/$tool"
done
check "the wrappers find the real tools" test -x /usr/sbin/thin_delta -a -x /usr/sbin/lvrename -a -x /usr/sbin/lvremove
tdata_log=()

step "first backup: a full read (no previous backup)"
backup_thin "first" full
expect "first: the reason is \"no previous backup\"" grep -q 'no previous backup' <<<"$(jq -r '.full_read_reason // ""' "$(last_dir thin)/info.json")"
expect "first: info.json records the thin origin (thin.origin = thin, thin.pool = pool)" \
	test "$(jq -r '.thin.origin + "/" + .thin.pool' "$(last_dir thin)/info.json")" = thin/pool

step "(a) writes at known offsets"
write_at $((10 * mib + 4096)) 4096
write_at $((40 * mib)) 4096
write_at $((75 * mib)) $mib
write_at $((100 * mib + 12288)) 8192
backup_thin "(a) known offsets" thin_delta

step "(b) writes across lvback's chunk boundaries"
write_at $((20 * chunk - 32768)) 65536
write_at $((30 * chunk + mib)) $((3 * mib))
write_at $((45 * chunk - 4096)) 8192
backup_thin "(b) chunk boundaries" thin_delta

step "(c) a discard"
before=$(lvs --noheadings -o data_percent vg/thin | tr -d ' ')
check "blkdiscard 1 MiB at 75 MiB (provisioned in (a))" blkdiscard -o $((75 * mib)) -l $mib "$dev"
touch_chunks $((75 * mib)) $mib
echo "    thin data_percent $before -> $(lvs --noheadings -o data_percent vg/thin | tr -d ' ')"
check "the discarded range reads as zeros" cmp -s -n $mib <(dd if="$dev" bs=1M skip=75 count=1 iflag=direct status=none) /dev/zero
backup_thin "(c) discard" thin_delta

step "(d) lvextend of the origin: a full read"
check "lvextend vg/thin by 64 MiB" lvextend -q -L +64M vg/thin
write_at $((thin_size_mib * mib + 4096)) 4096
backup_thin "(d) after lvextend" full
echo "    reason: $(jq -r '.full_read_reason // "none"' "$(last_dir thin)/info.json")"

step "(e) no change"
backup_thin "(e) no change" thin_delta
expect "(e) no change: read_bytes is 0" test "$(jq -r '.read_bytes // 0' "$(last_dir thin)/info.json")" = 0

step "kill in thin_delta (before commit), cleanup, backup"
write_at $((50 * mib)) 4096
kill_run "kill in thin_delta" thin_delta
if [ "$killed" = 1 ]; then
	check "lvback cleanup" "$lvback" cleanup
	show_lvs
	check "after cleanup: no plain snapshot" test -z "$(plain_names)"
	expect "after cleanup: the kept snapshot is still there" kept_ok
	# The kept snapshot still matches the newest complete backup: an
	# incremental (its metadata snapshot may still be reserved: EEXIST).
	backup_thin "after kill in thin_delta" thin_delta
else
	changed=() # the run completed: it backed up the change
fi

step "kill in lvrename (after commit, before keeping), cleanup, backup"
write_at $((60 * mib)) 4096
kill_run "kill in lvrename" lvrename
if [ "$killed" = 1 ]; then
	check "lvback cleanup" "$lvback" cleanup
	show_lvs
	expect "after cleanup: the previous kept snapshot is still there" kept_ok
	write_at $((70 * mib)) 4096
	# The kept snapshot belongs to the backup before the newest: a full read.
	backup_thin "after kill in lvrename" full
else
	changed=()
fi

step "kill in lvremove of the old kept snapshot, cleanup, backup"
write_at $((80 * mib)) 4096
kill_run "kill in lvremove" lvremove
changed=() # the killed run committed (today's binary too: it removes its snapshot last)
expect "after kill in lvremove: two kept snapshots" test "$(count "$(kept_names)")" = 2
check "lvback cleanup" "$lvback" cleanup
show_lvs
check "after cleanup: no plain snapshot" test -z "$(plain_names)"
expect "after cleanup: both kept snapshots are still there" test "$(count "$(kept_names)")" = 2
write_at $((90 * mib)) 4096
# The newest kept snapshot matches the newest backup; the run removes the other.
backup_thin "after kill in lvremove" thin_delta

step "lvback cleanup keeps the kept snapshot, cleanup --kept removes it"
check "lvback cleanup" "$lvback" cleanup
expect "after cleanup: the kept snapshot is still there" kept_ok
expect "lvback cleanup --kept" "$lvback" cleanup --kept
show_lvs
expect "after cleanup --kept: no kept snapshot" test -z "$(kept_names)"
check "after cleanup --kept: no plain snapshot" test -z "$(plain_names)"
write_at $((95 * mib)) 4096
backup_thin "after cleanup --kept" full
expect "after cleanup --kept: the reason is \"no kept snapshot\"" grep -q 'no kept snapshot' <<<"$(jq -r '.full_read_reason // ""' "$(last_dir thin)/info.json")"

step "a classic LV in block mode keeps no snapshot"
run lvcreate -q -y -L 32M -n classic vg
run dd if=/dev/urandom of=/dev/vg/classic bs=1M count=8 oflag=direct status=none
run snap_content /dev/vg/classic
check "classic: backup --mode blocks" "$lvback" backup --repo "$repo" --name classic --lv /dev/vg/classic --mode blocks --snapshot-size 8M
check "classic: restored image equals the LV" restored_matches classic
check "classic: no classic-lvback-* LV left" not grep -q '^classic-lvback-' <<<"$(lvs --noheadings -o lv_name vg | tr -d ' ')"
check "classic: no lvback-kept tag on any classic LV" not grep -q lvback-kept <<<"$(lvs --noheadings -o lv_name,lv_tags vg | grep classic)"

step "summary"
echo "    run                          read_mode    chunks read_bytes changed_b.  tdata_bytes"
printf '    %s\n' "${tdata_log[@]}"
show_lvs
