#!/usr/bin/env bash
# Build restic, the peer bench's s3 cases measure lvback against, once per
# machine: it lands in $LVBACK_CACHE/restic-$VERSION (default cache
# /var/cache/lvback-ci), where the bench looks first. When that binary
# exists this only checks that it runs. About 2.5 minutes on 2 cores.
set -euo pipefail
# Pinned: on this module proxy @latest resolves to the old 0.10.0
# (shared/notes/peers.md), and Debian's package is 0.14. The bench refuses
# any restic but 0.18.x. Change it here only.
VERSION=0.18.1
MODULE=github.com/restic/restic/cmd/restic
GO=${GO:-go}
cache=${LVBACK_CACHE:-/var/cache/lvback-ci}
out="$cache/restic-$VERSION"

mkdir -p "$cache"
if [ ! -x "$out" ]; then
	start=$(date +%s)
	echo "building restic $VERSION into $out (about 2.5 min)"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# Outside any module (so lvback's go.mod is left alone), with
	# -mod=mod: restic's go.mod wants its dependencies resolved.
	(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod "$GO" install "$MODULE@v$VERSION")
	mv -f "$tmp/restic" "$out"
	echo "built $out in $(($(date +%s) - start)) s"
fi
"$out" version | grep -q "^restic $VERSION " || { echo "build-restic: $out does not run or is not $VERSION" >&2; exit 1; }
echo "restic: $out"
