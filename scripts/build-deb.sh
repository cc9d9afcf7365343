#!/usr/bin/env bash
# Builds BUILD/lvback_VERSION_ARCH.deb from a built binary, the man pages
# and completions `make man` wrote into BUILD, and contrib/. Run by
# `make deb`: scripts/build-deb.sh BIN BUILD VERSION. Needs dpkg-deb;
# runs lintian on the result when it is installed.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 BIN BUILD VERSION" >&2; exit 2; }
bin=$1 build=$2 version=$3
src=$(cd "$(dirname "$0")/.." && pwd)
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb not found (apt-get install dpkg-dev)" >&2; exit 1; }
dpkg --validate-version "$version"

# The Go architecture of the binary, named as dpkg names it.
goarch=$(go version -m "$bin" 2>/dev/null | awk '$2 == "GOARCH=" || $2 ~ /^GOARCH=/ {sub("GOARCH=", "", $2); print $2}')
case ${goarch:-$(dpkg --print-architecture)} in
amd64 | x86_64) arch=amd64 ;;
arm64) arch=arm64 ;;
386) arch=i386 ;;
arm) arch=armhf ;;
*) arch=$goarch ;;
esac

root=$build/deb-root
rm -rf "$root"
umask 022
doc=$root/usr/share/doc/lvback
install -D -m 0755 "$bin" "$root/usr/sbin/lvback"
install -d "$root/usr/share/man/man8"
for page in "$build"/man/*.8; do
	gzip -9n <"$page" >"$root/usr/share/man/man8/$(basename "$page").gz"
done
install -D -m 0644 "$build/completions/lvback.bash" "$root/usr/share/bash-completion/completions/lvback"
install -D -m 0644 "$build/completions/_lvback" "$root/usr/share/zsh/vendor-completions/_lvback"
install -D -m 0644 "$build/completions/lvback.fish" "$root/usr/share/fish/vendor_completions.d/lvback.fish"
install -D -m 0644 -t "$root/usr/lib/systemd/system" "$src/contrib/systemd/lvback.service" "$src/contrib/systemd/lvback.timer"
install -D -m 0644 -t "$doc/examples" "$src/contrib/lvback.toml" "$src/contrib/lvback.cron"
install -D -m 0644 "$src/contrib/debian/copyright" "$doc/copyright"
gzip -9n <"$src/README.md" >"$doc/README.md.gz"
chmod 0644 "$doc/README.md.gz" "$root"/usr/share/man/man8/*.gz

install -d "$root/DEBIAN"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: lvback
Version: $version
Architecture: $arch
Maintainer: lvback maintainers <lvback@localhost>
Installed-Size: $size
Depends: lvm2
Recommends: thin-provisioning-tools, btrfs-progs
Section: admin
Priority: optional
Homepage: https://github.com/lvback/lvback
Description: incremental, verifiable backups of LVM volumes and directories
 lvback backs up LVM logical volumes (classic and thin, through snapshots),
 btrfs subvolumes and plain directories into dated, browsable backup trees
 that hard-link (or, on btrfs, snapshot) unchanged files, with a BLAKE3
 manifest per backup; verify re-reads a backup against it, restore writes
 it back with all metadata. Disk images and guest disks are backed up in
 block mode into a deduplicating, compressed chunk store, locally or on S3.
 .
 A systemd timer (lvback.timer, not enabled) and a cron.d example run
 "lvback run" nightly from /etc/lvback/lvback.toml; an example
 configuration is in /usr/share/doc/lvback/examples.
CONTROL
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

deb=$build/lvback_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
if command -v lintian >/dev/null; then
	lintian "$deb" || true
fi
