#!/usr/bin/env bash
# run.sh SCENARIO [DISK_SIZE...] — boots a throw-away qemu VM with real LVM and
# runs SCENARIO (a bash script) in it as /host/scenario.sh, beside a static
# /host/lvback built from this checkout and /host/lib.sh (scenarios/lib.sh).
#
# Each DISK_SIZE (truncate(1) syntax, default "512M 512M") is a sparse raw
# scratch disk: the first is /dev/vda, the second /dev/vdb, and so on. The
# console streams to stdout and to a log file; the exit status is the one the
# guest prints as "LVBACK-VM-RESULT: N". A VM that prints no such line (crash,
# timeout) fails with the log's last lines.
#
# Env:
#   LVBACK_VM_OPTIONAL=1  exit 0 (with a message) when qemu or the kernel cannot be had
#   LVBACK_VM_TIMEOUT     seconds before the VM is killed (600)
#   LVBACK_VM_LOG         console log file (default: a file in the run's temp dir, kept)
#   LVBACK_VM_CACHE       where the initramfs is cached (~/.cache/lvback-vm)
#   LVBACK_VM_MEM, LVBACK_VM_SMP  guest memory in MiB (1024) and CPUs (1)
#   LVBACK_VM_KEEP=1      keep the scratch disks and share after the run
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

usage() { echo "usage: run.sh SCENARIO [DISK_SIZE...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
scenario=$1; shift
[ -f "$scenario" ] || { echo "run.sh: scenario $scenario not found" >&2; exit 2; }
disks=("$@")
[ ${#disks[@]} -gt 0 ] || disks=(512M 512M)

# missing WHAT: qemu, the kernel or a tool cannot be had here.
missing() {
	echo "run.sh: cannot boot the LVM test VM: $*" >&2
	if [ "${LVBACK_VM_OPTIONAL:-}" = 1 ]; then
		echo "run.sh: LVBACK_VM_OPTIONAL=1, skipping" >&2
		exit 0
	fi
	exit 1
}

t_start=$(date +%s)
phase() { echo "run.sh: $* (+$(( $(date +%s) - t_start ))s)" >&2; }

"$here/deps.sh" || missing "packages missing (see the message above; as root, test/vm/deps.sh installs them)"
command -v qemu-system-x86_64 >/dev/null || missing "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
phase "packages present"

cache=${LVBACK_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lvback-vm}
if ! paths=$("$here/build-initramfs.sh" "$cache"); then
	missing "the initramfs could not be built (message above)"
fi
kernel=$(sed -n 1p <<<"$paths")
initrd=$(sed -n 2p <<<"$paths")
phase "initramfs ready: $initrd"

work=$(mktemp -d "${TMPDIR:-/tmp}/lvback-vm.XXXXXX")
log=${LVBACK_VM_LOG:-$work/console.log}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ "${LVBACK_VM_KEEP:-}" = 1 ]; then
		echo "run.sh: kept $work" >&2
	else
		# Keep only the log (when it lives in the work dir).
		rm -rf "$work/share" "$work"/disk*.img
	fi
}
trap cleanup EXIT

share=$work/share
mkdir -p "$share"
(cd "$repo_root" && CGO_ENABLED=0 go build -trimpath -o "$share/lvback" ./cmd/lvback)
cp "$scenario" "$share/scenario.sh"
cp "$here/scenarios/lib.sh" "$share/lib.sh"
phase "lvback built"

drives=()
i=0
for size in "${disks[@]}"; do
	img=$work/disk$i.img
	truncate -s "$size" "$img"
	drives+=(-drive "file=$img,format=raw,if=virtio,cache=unsafe")
	i=$((i + 1))
done

timeout_s=${LVBACK_VM_TIMEOUT:-600}
: >"$log"
phase "booting $(basename "$kernel") with ${disks[*]}, timeout ${timeout_s}s, log $log"
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
	-accel tcg,thread=multi -cpu max -m "${LVBACK_VM_MEM:-1024}" -smp "${LVBACK_VM_SMP:-1}" \
	-nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1" \
	-virtfs "local,path=$share,mount_tag=hostshare,security_model=passthrough" \
	"${drives[@]}" </dev/null 2>&1 | tee -a "$log"
qemu_status=${PIPESTATUS[0]}
set -e
phase "VM stopped (qemu exit status $qemu_status)"

result=$(tr -d '\r' <"$log" | sed -n 's/^LVBACK-VM-RESULT: \([0-9][0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$result" ]; then
	if [ "$qemu_status" = 124 ]; then
		echo "run.sh: the VM timed out after ${timeout_s}s without reporting a result" >&2
	else
		echo "run.sh: the VM stopped without reporting a result (qemu exit status $qemu_status)" >&2
	fi
	echo "run.sh: last lines of $log:" >&2
	tail -n 40 "$log" | tr -d '\r' | sed 's/^/    /' >&2
	exit 1
fi
echo "run.sh: $(basename "$scenario") exited $result; console log: $log" >&2
exit "$result"
