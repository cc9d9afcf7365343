#!/usr/bin/env bash
# File-mode benchmark: lvback against cp -a and rsync on the same generated
# tree, in one run, alternating, on a loop-mounted ext4 (no discard, so
# deletions do not slow later runs). Needs root, rsync, mkfs.ext4.
# Usage: bench/filemode.sh [FILES] [ROUNDS]       (defaults 50000, 3)
set -euo pipefail
files=${1:-50000}
rounds=${2:-3}
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go build -o bin/lvback ./cmd/lvback
go build -o bin/gentree ./bench/gentree
work=$(mktemp -d /var/tmp/lvback-bench.XXXXXX)
mnt=$work/mnt
cleanup() { umount "$mnt" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
truncate -s 16G "$work/img"
mkfs.ext4 -q -F -E nodiscard "$work/img"
mkdir -p "$mnt" && mount -o loop,nodiscard "$work/img" "$mnt"
bin/gentree -files "$files" -dirs $((files / 50)) "$mnt/src"
sync
lv=$PWD/bin/lvback

t() { # t LABEL CMD...: print wall seconds of one quiet run
	local label=$1; shift
	sync; sleep 2
	local s e
	s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
	awk -v l="$label" -v s="$s" -v e="$e" 'BEGIN { printf "%s %.2f\n", l, e - s }'
}
results=$work/results
for r in $(seq "$rounds"); do
	rm -rf "$mnt/repo" "$mnt/cp" "$mnt/rs0" "$mnt/rs1" "$mnt/rs2"
	t full-lvback "$lv" backup -q --repo "$mnt/repo" --name b --source "$mnt/src"
	t full-cp cp -a "$mnt/src" "$mnt/cp"
	t full-rsync rsync -aHX --numeric-ids "$mnt/src/" "$mnt/rs0/"
	sync
	bin/gentree -change 1 -add 0.1 -seed $((r + 1)) "$mnt/src"
	t incr-lvback "$lv" backup -q --repo "$mnt/repo" --name b --source "$mnt/src"
	t incr-rsync rsync -aHX --numeric-ids --delete --link-dest="$mnt/rs0" "$mnt/src/" "$mnt/rs1/"
	t nochange-lvback "$lv" backup -q --repo "$mnt/repo" --name b --source "$mnt/src"
	t nochange-rsync rsync -aHX --numeric-ids --delete --link-dest="$mnt/rs1" "$mnt/src/" "$mnt/rs2/"
done | tee "$results"
echo
echo "median wall seconds over $rounds rounds, $files files:"
for c in full-lvback full-cp full-rsync incr-lvback incr-rsync nochange-lvback nochange-rsync; do
	printf '%-16s %s\n' "$c" "$(grep "^$c " "$results" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
