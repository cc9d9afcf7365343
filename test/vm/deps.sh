#!/usr/bin/env bash
# deps.sh — installs the Debian packages the VM tests need (test/vm/run.sh
# calls it). Exits 0 when everything is there, 1 naming what is missing when
# it cannot install (not root, or apt-get failed). No reboot: the kernel is
# only booted inside qemu.
set -euo pipefail

# Package and a file it provides, so a present package is not asked for again.
pkgs=(
	"qemu-system-x86 /usr/bin/qemu-system-x86_64"
	"linux-image-amd64 /boot/vmlinuz-*"
	"busybox-static /bin/busybox"
	"cpio /usr/bin/cpio"
	"kmod /usr/bin/kmod"
	"lvm2 /usr/sbin/lvm"
	"thin-provisioning-tools /usr/sbin/pdata_tools"
	"e2fsprogs /usr/sbin/mke2fs"
	"xfsprogs /usr/sbin/mkfs.xfs"
	"btrfs-progs /usr/bin/btrfs"
	"util-linux /usr/bin/mount"
	"fdisk /usr/sbin/sfdisk"
	"diffutils /usr/bin/diff"
	"findutils /usr/bin/find"
	"jq /usr/bin/jq"
	"acl /usr/bin/setfacl"
	"attr /usr/bin/setfattr"
	"rsync /usr/bin/rsync"
)
missing=()
for entry in "${pkgs[@]}"; do
	read -r name file <<<"$entry"
	# busybox (dynamic) also provides /bin/busybox: ask dpkg for the static one.
	if [ "$name" = busybox-static ]; then
		dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || missing+=("$name")
		continue
	fi
	compgen -G "$file" >/dev/null || missing+=("$name")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "vm deps: not root, cannot install: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# INITRD=No: the kernel is only booted with our own initramfs, so skip
# update-initramfs (Debian's kernel hook honours it; saves ~20 s).
export INITRD=No
echo "vm deps: installing ${missing[*]}" >&2
apt_get() {
	# Another apt may hold the dpkg lock: wait for it instead of failing.
	local try
	for try in 1 2 3; do
		apt-get -o DPkg::Lock::Timeout=600 "$@" && return 0
		echo "vm deps: apt-get $1 failed (try $try of 3)" >&2
		[ "$try" -lt 3 ] && sleep 10
	done
	return 1
}
apt_get update -qq || { echo "vm deps: apt-get update failed" >&2; exit 1; }
if ! apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
	echo "vm deps: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi
echo "vm deps: installed ${missing[*]}" >&2
