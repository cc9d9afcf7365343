#!/usr/bin/env bash
# Build the SeaweedFS server (weed) the S3 tests run against, once per
# machine: it lands in $LVBACK_CACHE/weed-$VERSION (default cache
# /var/cache/lvback-ci) with the stable name $LVBACK_CACHE/weed pointing at
# it, which internal/s3test looks up. When that binary exists this only
# repoints the link. A cold build takes about 10 minutes on 2 cores.
set -euo pipefail
# The SeaweedFS version the tests are known to pass with (upstream master
# of 2026-11-09; it reports "30GB 4.53"). Change it here only.
VERSION=v0.0.0-20261109003541-7506e5f91cd6
MODULE=github.com/seaweedfs/seaweedfs
GO=${GO:-go}
cache=${LVBACK_CACHE:-/var/cache/lvback-ci}
out="$cache/weed-$VERSION"

mkdir -p "$cache"
if [ ! -x "$out" ]; then
	start=$(date +%s)
	echo "building SeaweedFS $VERSION into $out (about 10 min cold)"
	tmp=$(mktemp -d)
	trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
	# Outside any module, so that lvback's go.mod is left alone.
	dir=$(cd "$tmp" && "$GO" mod download -json "$MODULE@$VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || { echo "build-weed: go mod download gave no Dir for $MODULE@$VERSION" >&2; exit 1; }
	# The module cache is read-only; the build wants a writable tree.
	cp -r "$dir" "$tmp/src"
	chmod -R u+w "$tmp/src"
	(cd "$tmp/src" && "$GO" build -o "$out.tmp.$$" ./weed)
	mv -f "$out.tmp.$$" "$out"
	echo "built $out in $(($(date +%s) - start)) s"
fi
"$out" version >/dev/null 2>&1 || { echo "build-weed: $out does not run" >&2; exit 1; }
# Repoint the stable name atomically: a test starting now sees the old
# link or the new one, never none.
ln -sfn "weed-$VERSION" "$cache/.weed.$$"
mv -Tf "$cache/.weed.$$" "$cache/weed"
echo "SeaweedFS: $cache/weed -> weed-$VERSION"
