#!/usr/bin/env bash
# Block-mode benchmark: lvback --mode blocks against dd (the read limit) and
# cp --sparse=always (restore), on a generated ext4 image, in one run.
# Needs root (loop mount), mkfs.ext4. Usage: bench/blockmode.sh [SIZE_MIB]
set -euo pipefail
size=${1:-1024}
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go build -o bin/lvback ./cmd/lvback
go build -o bin/gentree ./bench/gentree
work=$(mktemp -d /var/tmp/lvback-bbench.XXXXXX)
trap 'umount "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
img=$work/disk.img
truncate -s "${size}M" "$img"
mkfs.ext4 -q -F "$img"
mkdir -p "$work/mnt" && mount -o loop "$img" "$work/mnt"
bin/gentree -files $((size * 40)) -dirs 200 -min 4096 -max 32768 "$work/mnt/data" # ~70% full of text-like data
umount "$work/mnt"
sync

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'; }
bytes=$(stat -c %s "$img")
repo=$work/repo
du_repo() { du -sb "$repo" | cut -f1; }

echo 3 > /proc/sys/vm/drop_caches || true
dd1=$(secs dd if="$img" of=/dev/null bs=4M iflag=direct)
full=$(secs bin/lvback backup -q --repo "$repo" --name disk --mode blocks --source "$img")
size1=$(du_repo)
# change about 1% of the image in 64 KiB pieces, one per 4 MiB region
n=$((bytes / 4194304 / 100 + 1))
for i in $(seq 1 "$n"); do
	dd if=/dev/urandom of="$img" bs=64K count=1 seek=$(( (i * 97 % (bytes / 4194304)) * 64 )) conv=notrunc status=none
done
sync
dd2=$(secs dd if="$img" of=/dev/null bs=4M iflag=direct)
incr=$(secs bin/lvback backup -q --repo "$repo" --name disk --mode blocks --source "$img")
size2=$(du_repo)
cpt=$(secs cp --sparse=always "$img" "$work/copy.img")
rst=$(secs bin/lvback restore -q --repo "$repo" --name disk --target "$work/restored.img")
cmp "$img" "$work/restored.img" && echo "restored image is identical"

echo
echo "image: $size MiB ext4, text-like data; chunk size 2 MiB (the default)"
printf '%-34s %8s s  %s\n' "dd bs=4M iflag=direct (before)" "$dd1" "$(rate "$bytes" "$dd1")"
printf '%-34s %8s s  %s\n' "lvback first backup" "$full" "$(rate "$bytes" "$full")"
printf '%-34s %8s s  %s\n' "dd bs=4M iflag=direct (after 1%)" "$dd2" "$(rate "$bytes" "$dd2")"
printf '%-34s %8s s  %s\n' "lvback incremental (1% chunks)" "$incr" "$(rate "$bytes" "$incr")"
printf '%-34s %8s s\n' "cp --sparse=always" "$cpt"
printf '%-34s %8s s\n' "lvback restore" "$rst"
echo "repository after first: $size1 bytes (ratio $(awk -v a="$bytes" -v b="$size1" 'BEGIN { printf "%.2f", a / b }') of the image)"
echo "repository growth for 1%: $((size2 - size1)) bytes ($n chunks changed)"
