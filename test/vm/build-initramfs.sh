#!/usr/bin/env bash
# build-initramfs.sh OUTDIR — builds the initramfs that test/vm/run.sh boots:
# static busybox, the real LVM, device-mapper, util-linux, sfdisk, mkfs and fsck tools,
# acl, attr and rsync (the oracle for ACLs and xattrs), with every library ldd
# lists, the kernel modules LVM snapshots, thin pools,
# virtio disks and the 9p host share need, and an /init that runs
# /host/scenario.sh under bash and reports its exit status on the console.
#
# Everything comes from the host's Debian packages (test/vm/deps.sh installs
# them). The image is cached in OUTDIR under a key made of the kernel version
# and a hash of this script and the package versions, so a second call only
# prints the paths. Prints two lines on stdout: the kernel, then the initramfs.
#
# Env: KVER picks a kernel version (default: the newest /boot/vmlinuz-* that
# has /lib/modules/KVER).
set -euo pipefail

export PATH=$PATH:/usr/sbin:/sbin # modprobe, depmod
die() { echo "build-initramfs: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: build-initramfs.sh OUTDIR"
outdir=$1

# The kernel: Debian's linux-image-amd64 puts it in /boot, its modules in /lib/modules.
if [ -z "${KVER:-}" ]; then
	for k in $(printf '%s\n' /boot/vmlinuz-* | sed 's|^/boot/vmlinuz-||' | sort -V); do
		if [ -d "/lib/modules/$k/kernel" ]; then KVER=$k; fi
	done
fi
[ -n "${KVER:-}" ] || die "no kernel: /boot/vmlinuz-* with /lib/modules/* is missing (apt-get install linux-image-amd64)"
kernel=/boot/vmlinuz-$KVER
[ -r "$kernel" ] || die "cannot read $kernel"

# Kernel modules /init loads, in this order (modprobe pulls in their dependencies).
modules=(dm-mod dm-bufio dm-snapshot dm-persistent-data dm-thin-pool loop
	ext4 xfs btrfs fuse virtio_pci virtio_blk 9pnet_virtio 9p)
optional_modules=(btrfs fuse) # fuse: lvback mount (bench-thin.sh)

# Programs copied with their libraries; a missing one is fatal unless optional.
programs=(
	/usr/bin/bash /usr/sbin/lvm /usr/sbin/dmsetup /usr/sbin/pdata_tools /usr/bin/kmod
	/usr/bin/mount /usr/bin/umount /usr/sbin/blkid /usr/sbin/losetup /usr/bin/lsblk
	/usr/bin/findmnt /usr/sbin/wipefs /usr/sbin/blockdev /usr/sbin/fsfreeze /usr/sbin/sfdisk
	/usr/sbin/mke2fs /usr/sbin/e2fsck /usr/sbin/tune2fs /usr/sbin/dumpe2fs /usr/sbin/resize2fs
	/usr/sbin/mkfs.xfs /usr/sbin/xfs_repair /usr/sbin/xfs_db /usr/sbin/xfs_freeze
	/usr/bin/cp /usr/bin/mv /usr/bin/rm /usr/bin/ln /usr/bin/ls /usr/bin/cat /usr/bin/mkdir
	/usr/bin/touch /usr/bin/stat /usr/bin/chmod /usr/bin/chown /usr/bin/sha256sum
	/usr/bin/dd /usr/bin/sync /usr/bin/sleep /usr/bin/kill /usr/bin/head /usr/bin/tail
	/usr/bin/wc /usr/bin/sort /usr/bin/tr /usr/bin/cut /usr/bin/seq /usr/bin/tee
	/usr/bin/truncate /usr/bin/du /usr/bin/df /usr/bin/date /usr/bin/env /usr/bin/mktemp
	/usr/bin/timeout /usr/bin/readlink /usr/bin/realpath /usr/bin/basename /usr/bin/dirname
	/usr/bin/diff /usr/bin/cmp /usr/bin/find /usr/bin/xargs /usr/bin/grep /usr/bin/sed /usr/bin/jq
	/usr/bin/flock /usr/bin/setfacl /usr/bin/getfacl /usr/bin/setfattr /usr/bin/getfattr /usr/bin/rsync
)
optional_programs=(/usr/bin/btrfs /usr/sbin/mkfs.btrfs)

# Symlinks that name a multi-call program (lvcreate -> lvm, thin_check -> pdata_tools, …).
multicall=(lvm pdata_tools kmod mke2fs e2fsck btrfs)

[ -x /usr/bin/busybox ] || [ -x /bin/busybox ] || die "busybox is missing (apt-get install busybox-static)"
busybox=$(readlink -f "$(command -v busybox || echo /bin/busybox)")
ldd_out=$(LC_ALL=C ldd "$busybox" 2>&1 || true)
case $ldd_out in *"not a dynamic executable"*|*"statically linked"*) ;;
	*) die "$busybox is not static (apt-get install busybox-static)" ;; esac
command -v cpio >/dev/null || die "cpio is missing (apt-get install cpio)"
command -v depmod >/dev/null || die "depmod is missing (apt-get install kmod)"
for p in "${programs[@]}"; do [ -x "$p" ] || die "$p is missing (see test/vm/deps.sh for the packages)"; done

# Cache key: kernel version + this script + the versions of the packages copied.
pkgs=$(dpkg-query -W busybox-static lvm2 dmsetup thin-provisioning-tools e2fsprogs xfsprogs btrfs-progs util-linux fdisk kmod jq acl attr rsync libc6 2>/dev/null || true)
key=$( { cat "$0"; echo "$pkgs"; } | sha256sum | cut -c1-12)
image=$outdir/initramfs-$KVER-$key.img
if [ -s "$image" ]; then
	printf '%s\n%s\n' "$kernel" "$image"
	exit 0
fi

mkdir -p "$outdir"
work=$(mktemp -d "$outdir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,proc,sys,dev,run,tmp,host,mnt,etc/lvm,root}
# Debian 12 is merged-/usr: keep the same shape so every path ldd prints resolves.
for d in bin sbin lib lib64; do
	if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$root/$d"; else mkdir -p "$root/$d"; fi
done

# copy_file SRC: copies SRC (dereferenced) to the same path inside the image,
# resolving directory symlinks the host has (e.g. /lib -> usr/lib).
declare -A real_dir
copy_file() {
	local src=$1 dir=${1%/*}
	[ -n "${real_dir[$dir]:-}" ] || { real_dir[$dir]=$(readlink -f "$dir"); mkdir -p "$root${real_dir[$dir]}"; }
	[ -e "$root${real_dir[$dir]}/${src##*/}" ] || cp -L "$src" "$root${real_dir[$dir]}/"
}

# The programs, then every shared library ldd lists for any of them (one ldd call).
wanted=("${programs[@]}")
for p in "${optional_programs[@]}"; do
	if [ -x "$p" ]; then wanted+=("$p"); else echo "build-initramfs: optional $p not found, skipped" >&2; fi
done
# glibc loads libnss_files at run time (getpwnam in coreutils, find).
wanted+=(/lib/x86_64-linux-gnu/libnss_files.so.2)
for f in "${wanted[@]}" $(ldd "${wanted[@]}" 2>/dev/null | grep -o '^[[:space:]].*/[^ ]*' | grep -o '/[^ ]*' | sort -u); do
	copy_file "$f"
done

# The multi-call programs' names: lvcreate, lvs, vgcreate, thin_check, mkfs.ext4, modprobe …
for target in "${multicall[@]}"; do
	for dir in /usr/sbin /usr/bin; do
		while IFS= read -r link; do
			[ -e "$root$(readlink -f "$dir")/$target" ] || continue
			ln -sf "$target" "$root$dir/${link##*/}"
		done < <(find "$dir" -maxdepth 1 \( -lname "$target" -o -lname "*/$target" \))
	done
done
# kmod's own names in Debian live in /usr/sbin and point to ../bin/kmod.
for n in modprobe insmod rmmod lsmod depmod modinfo; do ln -sf ../bin/kmod "$root/usr/sbin/$n"; done

# Static busybox for everything else (sh, poweroff, …): its applets never shadow a real tool.
cp "$busybox" "$root/usr/bin/busybox"
for applet in $("$busybox" --list-full); do
	dst=$root/$applet
	[ -e "$dst" ] || [ -L "$dst" ] && continue
	[ -e "$root/usr/bin/$(basename "$applet")" ] || [ -e "$root/usr/sbin/$(basename "$applet")" ] && continue
	mkdir -p "$(dirname "$dst")"
	ln -s /usr/bin/busybox "$dst"
done

# Kernel modules and their dependencies, then a modules.dep for modprobe.
mods=()
for m in "${modules[@]}"; do
	if ! deps=$(modprobe -S "$KVER" --show-depends "$m" 2>&1); then
		if [[ " ${optional_modules[*]} " == *" $m "* ]]; then
			echo "build-initramfs: optional module $m not found, skipped" >&2; continue
		fi
		die "module $m: $deps"
	fi
	for ko in $(echo "$deps" | awk '$1 == "insmod" {print $2}'); do copy_file "$ko"; done
	mods+=("$m")
done
cp /lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} "$root/usr/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$root" "$KVER"
printf '%s\n' "${mods[@]}" >"$root/etc/lvback-vm-modules"

# Config: LVM without udev, dmeventd or lvmpolld (none run in the VM).
cat >"$root/etc/lvm/lvm.conf" <<'CONF'
devices {
	obtain_device_list_from_udev = 0
	external_device_info_source = "none"
	use_devicesfile = 0
}
activation {
	udev_sync = 0
	udev_rules = 0
	monitoring = 0
}
global {
	use_lvmpolld = 0
	thin_check_executable = "/usr/sbin/thin_check"
}
CONF
cp /etc/mke2fs.conf "$root/etc/"
ln -s /proc/self/mounts "$root/etc/mtab"
echo 'root:x:0:0:root:/root:/bin/bash' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true # the kernel's own initramfs has it too

cat >"$root/init" <<'INIT'
#!/usr/bin/busybox sh
# PID 1 of the lvback test VM: mount the pseudo file systems, load the modules,
# mount the host share, run /host/scenario.sh, report its status, power off.
# Real tools are called by full path: busybox's sh prefers its own applets.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
/usr/bin/busybox mount -t proc proc /proc
/usr/bin/busybox mount -t sysfs sysfs /sys
/usr/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/usr/bin/busybox mkdir -p /dev/pts /dev/shm
/usr/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /run
/usr/bin/busybox mount -t tmpfs -o mode=1777 tmpfs /tmp
/usr/bin/busybox mkdir -p /run/lock /run/lvm
/usr/bin/busybox ln -s /proc/self/fd /dev/fd
echo 8 >/proc/sys/kernel/printk_ratelimit_burst 2>/dev/null
for m in $(/usr/bin/busybox cat /etc/lvback-vm-modules); do
	/usr/sbin/modprobe "$m" || echo "init: modprobe $m failed"
done
status=255
if /usr/bin/mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 hostshare /host; then
	cd /host
	echo
	echo "init: up $(/usr/bin/busybox cut -d' ' -f1 /proc/uptime)s, running /host/scenario.sh"
	/usr/bin/bash /host/scenario.sh
	status=$?
else
	echo "init: cannot mount the 9p share hostshare at /host"
fi
cd /
/usr/bin/sync
echo
echo "LVBACK-VM-RESULT: $status"
/usr/bin/busybox poweroff -f
INIT
chmod 755 "$root/init"

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$work/image"
mv "$work/image" "$image"
# Older images of this kernel are stale now.
for old in "$outdir"/initramfs-"$KVER"-*.img; do [ "$old" = "$image" ] || rm -f "$old"; done
echo "build-initramfs: built $image ($(du -h "$image" | cut -f1))" >&2
printf '%s\n%s\n' "$kernel" "$image"
