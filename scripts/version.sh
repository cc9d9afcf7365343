#!/usr/bin/env bash
# Prints lvback's version for `make build` and `make deb`, a valid Debian
# version (dpkg --validate-version) from git:
#   on a tag vX.Y.Z          X.Y.Z
#   N commits after it       X.Y.Z+gitN.gSHORT        (sorts after X.Y.Z)
#   no tag yet               BASE~gitYYYYMMDD.SHORT   (BASE from the VERSION file;
#                                                     sorts before the release BASE)
# with ".dirty" appended when the work tree has uncommitted changes. The
# date is the commit's (UTC), so one commit always gets one version.
# Without git (a source tarball) it prints BASE.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(cat VERSION)
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "$base"
	exit 0
fi
short=$(git rev-parse --short=7 HEAD)
dirty=
git diff-index --quiet HEAD -- 2>/dev/null || dirty=.dirty
if desc=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
	# vX.Y.Z-N-gSHORT
	n=${desc%-g*}
	n=${n##*-}
	tag=${desc%-*-g*}
	tag=${tag#v}
	if [ "$n" = 0 ]; then
		echo "$tag$dirty"
	else
		echo "$tag+git$n.g$short$dirty"
	fi
	exit 0
fi
day=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d HEAD)
echo "$base~git$day.$short$dirty"
