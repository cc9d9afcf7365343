# lib.sh — helpers for the scenarios run inside the VM, sourced as /host/lib.sh.
# Every check prints one line, "ok: WHAT" or "FAIL: WHAT" with the command, its
# exit status and its output; the first failure ends the scenario (exit 1).
# Checks run their command in a condition, so a shell function given to one
# must return its own status (set -e does not apply inside it).
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C

lib_checks=0
lib_t0=$(cut -d' ' -f1 /proc/uptime)

# elapsed prints the seconds since the scenario started, e.g. 12.3.
elapsed() { awk -v t0="$lib_t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime; }

# step NAME prints a section header with the elapsed time.
step() { echo "== $* (t=$(elapsed)s)"; }

# ok WHAT records a passed check.
ok() { lib_checks=$((lib_checks + 1)); echo "ok: $*"; }

# fail WHAT ends the scenario with a failed check.
fail() { echo "FAIL: $*"; exit 1; }

# fail_later WHAT records a failed check but lets the scenario go on; the
# scenario then exits 1. For checks whose failure says nothing about the
# steps after them (a timing bound, say).
lib_late_failures=0
fail_later() { lib_late_failures=$((lib_late_failures + 1)); echo "FAIL: $*"; }

# _report WHAT STATUS OUTPUT CMD...: the failure block of check/check_fails/run.
_report() {
	local what=$1 status=$2 out=$3
	shift 3
	echo "FAIL: $what: \`$*\` exited $status"
	[ -z "$out" ] || printf '%s\n' "$out" | tail -n 40 | sed 's/^/    /'
	exit 1
}

# check WHAT CMD...: CMD must exit 0.
check() {
	local what=$1 out status=0
	shift
	out=$("$@" 2>&1) || status=$?
	[ "$status" -eq 0 ] || _report "$what" "$status" "$out" "$@"
	ok "$what"
}

# check_fails WHAT CMD...: CMD must exit non-zero.
check_fails() {
	local what=$1 out status=0
	shift
	out=$("$@" 2>&1) || status=$?
	[ "$status" -ne 0 ] || _report "$what (expected a failure)" "$status" "$out" "$@"
	ok "$what (exit $status)"
}

# run CMD...: a setup step; silent unless it fails.
run() {
	local out status=0
	out=$("$@" 2>&1) || status=$?
	[ "$status" -eq 0 ] || _report "setup" "$status" "$out" "$@"
}

# lv_exists VG/LV: the LV is in lvs.
lv_exists() { lvs "$1" >/dev/null 2>&1; }

# lv_attr VG/LV prints the LV's lv_attr (e.g. swi-a-s---).
lv_attr() { lvs --noheadings -o lv_attr "$1" | tr -d ' '; }

# attr_is VG/LV POS CHAR: character POS (1-based) of lv_attr is CHAR
# (1 s = snapshot, 5 I = invalid snapshot, 10 k = activation skip).
attr_is() { [ "$(lv_attr "$1" | cut -c"$2")" = "$3" ]; }

# not CMD...: succeeds when CMD fails (for check).
not() { ! "$@"; }

# make_tree DIR SEED: a small tree of files: text, a few MiB of random data,
# an empty file, a sparse file, a symlink, a hard link, nested dirs, odd modes.
make_tree() {
	local dir=$1 seed=$2 i
	mkdir -p "$dir/docs/deep/er/still" "$dir/bin" "$dir/empty-dir"
	for i in $(seq 1 20); do echo "file $i of $seed" >"$dir/docs/note-$i.txt"; done
	echo "deep $seed" >"$dir/docs/deep/er/still/leaf"
	dd if=/dev/urandom of="$dir/bin/blob" bs=1M count=4 status=none
	: >"$dir/empty"
	truncate -s 16M "$dir/sparse" && echo "$seed" | dd of="$dir/sparse" bs=1 seek=8M conv=notrunc status=none
	ln -s docs/note-1.txt "$dir/link"
	ln "$dir/docs/note-2.txt" "$dir/docs/hardlink-to-2"
	echo secret >"$dir/private" && chmod 600 "$dir/private"
	chmod 750 "$dir/bin"
	sync
}

# tree_meta DIR prints one sorted line per entry below DIR: type, path, mode,
# owner, mtime, symlink target and (files only) size — what diff -r ignores.
tree_meta() {
	(cd "$1" && find . -mindepth 1 \( -type f -printf '%y %p %m %U:%G %T@ %s\n' \) -o \
		\( ! -type f -printf '%y %p %m %U:%G %T@ %l\n' \) | sort)
}

# same_tree WANT GOT: same names, contents and metadata.
same_tree() {
	diff -r --no-dereference "$1" "$2" || return 1
	diff <(tree_meta "$1") <(tree_meta "$2")
}

_finish() {
	local status=$1
	if [ "$status" -ne 0 ]; then
		echo "scenario: stopped after $lib_checks passed checks (exit $status, $(elapsed)s)"
	elif [ "$lib_late_failures" -gt 0 ]; then
		echo "scenario: $lib_late_failures failed, $lib_checks passed ($(elapsed)s)"
		exit 1
	else
		echo "scenario: all $lib_checks checks passed in $(elapsed)s"
	fi
}
trap '_finish $?' EXIT
