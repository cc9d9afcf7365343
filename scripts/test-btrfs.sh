#!/usr/bin/env bash
# test-btrfs.sh [GO_TEST_FLAGS...] — runs the suites of the packages that
# write file trees (engine, cmd/lvback, mount) a second time with TMPDIR on
# a fresh btrfs, where every repository the tests create gets the subvolume
# layout (the default there as root): both layouts pass the same tests.
# Needs root (loop mount) and mkfs.btrfs; the file system is removed after.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test-btrfs: needs root to loop-mount a btrfs (the subvolume layout's run of the suites)"
	exit 0
fi
command -v mkfs.btrfs >/dev/null || { echo "test-btrfs: mkfs.btrfs missing (apt-get install btrfs-progs)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/lvback-btrfs.XXXXXX)
img=$work/btrfs.img
mnt=$work/mnt
cleanup() {
	umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
truncate -s 8G "$img"
mkfs.btrfs -q "$img"
chmod 755 "$work" # the tests run some children as an unprivileged user
mkdir "$mnt"
mount -o loop "$img" "$mnt"
mkdir -m 1777 "$mnt/tmp"
echo "test-btrfs: TMPDIR=$mnt/tmp (btrfs): subvolume-layout repositories"
TMPDIR=$mnt/tmp "${GO:-go}" test -count=1 -timeout 20m "$@" ./engine ./cmd/lvback ./mount
