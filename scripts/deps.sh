#!/usr/bin/env bash
# Installs the Debian packages lvback's tests use as oracles and fixtures.
# The product itself needs none of them. Without root it only reports.
set -euo pipefail
pkgs=(rsync attr acl xfsprogs btrfs-progs e2fsprogs util-linux fdisk strace fuse3 qemu-utils man-db systemd)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root, cannot install: ${missing[*]} (tests that need them will skip)" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
