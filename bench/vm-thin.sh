#!/usr/bin/env bash
# bench/vm-thin.sh — thin_delta incrementals vs --full-read vs dd on a real
# thin LV inside the qemu VM of test/vm (the build machines' kernel has no
# device-mapper). Runs test/vm/scenarios/bench-thin.sh with the sizes below
# and prints its table: wall seconds, lvback's read_bytes and the bytes read
# from the pool's data device, after 0.1 %, 1 % and 10 % of lvback's chunks
# changed; plus one file out of the backup via lvback mount + losetup + mount.
#
# Env:
#   SIZE_MIB   the thin LV's virtual size (4096). Under TCG on 2 busy cores
#              SIZE_MIB=512 took 5 min (each lvback run ~27 s, CPU-bound:
#              dd read the same 345 MiB in 1.5 s); 4096 extrapolates to ~30
#              min before thin_delta skips the unchanged chunks
#   LVBACK_VM_LOG  keep the console log there (default: a temp file, removed)
#   FILL_PCT   how full of random data (70)
#   OUT        also write the console's table to this file
#   LVBACK_VM_TIMEOUT (default here 3600), LVBACK_VM_* as for test/vm/run.sh
# Root, like test/vm/run.sh. Only one VM at a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
size=${SIZE_MIB:-4096}
fill=${FILL_PCT:-70}
case $size$fill in *[!0-9]*) echo "vm-thin.sh: SIZE_MIB and FILL_PCT are whole numbers" >&2; exit 2 ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vm-thin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sed -e "s/^size_mib=[0-9]*/size_mib=$size/" -e "s/^fill_pct=[0-9]*/fill_pct=$fill/" \
	"$root/test/vm/scenarios/bench-thin.sh" >"$tmp/bench-thin.sh"
# Disks (sparse): the VG holds the pool (size + 128 MiB); the repository
# the random data once plus the changed chunks.
vg_disk=$((size + 512))M
repo_disk=$((size * fill / 100 + size / 4 + 512))M
log=${LVBACK_VM_LOG:-$tmp/console.log}
status=0
LVBACK_VM_TIMEOUT=${LVBACK_VM_TIMEOUT:-3600} LVBACK_VM_LOG=$log \
	"$root/test/vm/run.sh" "$tmp/bench-thin.sh" "$vg_disk" "$repo_disk" || status=$?
table=$(tr -d '\r' <"$log" | sed -n '/^== table/,/^scenario:/p')
echo
echo "$table"
[ -z "${OUT:-}" ] || printf '%s\n' "$table" >"$OUT"
exit "$status"
