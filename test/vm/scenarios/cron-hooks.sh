#!/usr/bin/env bash
# cron-hooks.sh — `lvback run` as cron starts it (env -i PATH=/usr/bin:/bin
# HOME=/ SHELL=/bin/sh) over an ext4 and an XFS LV whose files carry POSIX
# ACLs and xattrs, with before_snapshot/after_snapshot/on_success/on_failure
# hooks that live only in /usr/sbin. before_snapshot writes a marker into the
# origin and after_snapshot removes it: the backup holds the marker, the
# origin no longer does, and rsync -naHA, getfacl and getfattr find nothing
# else between origin and backup. Then a failing before_snapshot, a held repository lock and a
# frozen origin: on_failure runs, the metrics say lvback_run_success 0 and
# nothing is left. Disks: /dev/vda (>= 1 GiB) for the VG, /dev/vdb for the
# repository (ext4 at /mnt/repo).
# shellcheck source=lib.sh
. /host/lib.sh

lvback=/host/lvback
repo=/mnt/repo
hooklog=/tmp/hooks.log
metrics=/tmp/lvback.prom
marker=.quiesced-marker
# cron's environment (Debian's cron gives a job PATH=/usr/bin:/bin).
cron_env=(env -i PATH=/usr/bin:/bin HOME=/ SHELL=/bin/sh)

# cron_run CONFIG OUT: runs lvback run --config CONFIG as cron would; sets
# status to its exit status, OUT gets stdout and stderr.
cron_run() {
	status=0
	"${cron_env[@]}" "$lvback" run --config "$1" >"$2" 2>&1 || status=$?
	sed 's/^/    /' "$2" | tail -n 12
}

# no_leftovers WHAT: no "-lvback-" LV and nothing mounted under /run/lvback.
no_leftovers() {
	check "$1: no LV named *-lvback-* is left" not grep -q -- -lvback- <<<"$(lvs -a --noheadings -o lv_name)"
	check "$1: nothing is mounted under /run/lvback" not grep -q ' /run/lvback' /proc/mounts
}

# hook_order prints the hooks that ran, in order, one word a line.
hook_order() { cut -d' ' -f1 "$hooklog" | tr '\n' ' ' | sed 's/ $//'; }

# complete_count NAME prints how many complete backups NAME has (0 if none).
complete_count() {
	local json
	json=$("$lvback" list --repo "$repo" --name "$1" --json 2>/dev/null) || json='[]'
	jq '[.[] | select(.complete == true)] | length' <<<"${json:-[]}"
}

# per_file DIR CMD...: runs CMD (getfattr or getfacl, recursive, on ".") in
# DIR and prints one sorted line per file and entry, "PATH ENTRY": the
# tools list files in readdir order, which differs between file systems.
per_file() {
	local dir=$1
	shift
	(cd "$dir" && "$@" .) | awk '/^# file: /{f=substr($0,9); next} /^#/{next} NF{print f" "$0}' | sort
}

# same_as_origin MNT TREE: origin MNT and backup TREE hold the same contents,
# modes, owners, times, hard links and ACLs (rsync -naHA), the same ACLs
# (getfacl) and the same xattrs (getfattr), but for the marker the backup
# holds and the root directory's mtime it changed. Not rsync -X: as root it
# also compares XFS's own on-disk form of an ACL, the xattrs
# trusted.SGI_ACL_FILE and trusted.SGI_ACL_DEFAULT, which an ext4 repository
# cannot have (lvback keeps the ACL itself, which getfacl compares).
same_as_origin() {
	local out
	out=$(rsync -naHA --delete --itemize-changes "$1/" "$2/") || return 1
	out=$(grep -v -e "^\*deleting   $marker\$" -e '^\.d\.\.t\.\.\.\.\.\. \./$' <<<"$out" || true)
	[ -z "$out" ] || { printf 'rsync -naHA:\n%s\n' "$out"; return 1; }
	diff <(per_file "$1" getfacl -R -p) <(per_file "$2" getfacl -R -p | grep -v "^\./$marker ") || return 1
	diff <(per_file "$1" getfattr -R -h -d -m - -e hex --absolute-names | grep -v -e ' trusted\.SGI_ACL_' -e ' system\.posix_acl_') \
		<(per_file "$2" getfattr -R -h -d -m - -e hex --absolute-names | grep -v -e ' system\.posix_acl_')
}

# acl_tree DIR: files and directories with POSIX ACLs (access and default)
# and user xattrs, besides make_tree's.
acl_tree() {
	local d=$1
	make_tree "$d" "$(basename "$d")"
	mkdir -p "$d/shared/inherit"
	echo "acl file" >"$d/shared/acl-file"
	setfacl -m u:1234:rw-,g:2345:r--,m::rw- "$d/shared/acl-file"
	setfacl -m u:1234:rwx "$d/shared"
	setfacl -d -m u:1234:rwx,g:2345:r-x "$d/shared/inherit"
	echo "inherits" >"$d/shared/inherit/child" # gets the default ACL
	setfattr -n user.comment -v "hello from $d" "$d/shared/acl-file"
	setfattr -n user.empty "$d/docs/note-3.txt"
	setfattr -n user.dir -v "a directory's xattr" "$d/docs"
	sync
}

# hook NAME [ACTION]: a hook script /usr/sbin/lvback-hook-NAME that logs its
# name, its LVBACK_* variables and its PATH to $hooklog, then runs ACTION.
hook() {
	cat >"/usr/sbin/lvback-hook-$1" <<EOF
#!/bin/sh
echo "$1 \$(env | grep '^LVBACK_' | sort | tr '\n' ' ')PATH=\$PATH" >>$hooklog
${2:-}
EOF
	chmod 755 "/usr/sbin/lvback-hook-$1"
}

step "setup"
run pvcreate -q /dev/vda
run vgcreate -q vg /dev/vda
run mkfs.ext4 -q /dev/vdb
mkdir -p "$repo" /mnt/data /mnt/dataxfs
run mount /dev/vdb "$repo"
rmdir "$repo/lost+found"
check "lvback init --repo $repo" "$lvback" init --repo "$repo"
run lvcreate -q -y -L 200M -n data vg
run mkfs.ext4 -q /dev/vg/data
run mount /dev/vg/data /mnt/data
acl_tree /mnt/data
# mkfs.xfs (xfsprogs >= 5.19) refuses file systems under 300 MB.
run lvcreate -q -y -L 320M -n dataxfs vg
run mkfs.xfs -q /dev/vg/dataxfs
run mount /dev/vg/dataxfs /mnt/dataxfs
acl_tree /mnt/dataxfs
check "ACLs are set on ext4" grep -q 'user:1234:rw-' <<<"$(getfacl -p /mnt/data/shared/acl-file)"
check "default ACLs are set on XFS" grep -q 'default:user:1234:rwx' <<<"$(getfacl -p /mnt/dataxfs/shared/inherit)"
# The hooks exist only in /usr/sbin, which cron's PATH lacks. The volume
# names are the mount points' names under /mnt.
hook before "echo \"written by before_snapshot\" >/mnt/\$LVBACK_VOLUME/$marker"
hook after "rm -f /mnt/\$LVBACK_VOLUME/$marker"
hook success "cat >/tmp/on_success.json"
hook failure "cat >/tmp/on_failure.json"
hook fails "echo 'cannot quiesce' >&2; exit 7"
check "cron's PATH does not find the hooks" not "${cron_env[@]}" sh -c 'command -v lvback-hook-before'
write_config() { # FILE BEFORE_SNAPSHOT VOLUMES...
	local f=$1 before=$2 v
	shift 2
	{
		echo "repo = \"$repo\""
		echo "before_snapshot = \"$before\""
		echo 'after_snapshot = "lvback-hook-after"'
		echo 'on_success = "lvback-hook-success"'
		echo 'on_failure = "lvback-hook-failure"'
		echo 'hook_timeout = "2m"'
		echo "metrics_file = \"$metrics\""
		echo '[defaults]'
		echo 'snapshot_size = "50M"'
		for v in "$@"; do printf '[[volume]]\nname = "%s"\nlv = "/dev/vg/%s"\n' "$v" "$v"; done
	} >"$f"
	chmod 600 "$f"
}
write_config /etc/lvback.toml lvback-hook-before data dataxfs
write_config /etc/lvback-fails.toml lvback-hook-fails data dataxfs
ok "setup: ext4 and XFS LVs with ACLs and xattrs, hooks in /usr/sbin, configs in /etc"

step "cron run with snapshot hooks"
: >"$hooklog"
cron_run /etc/lvback.toml /tmp/run1.out
check "lvback run under cron's environment exits 0 (got $status)" test "$status" -eq 0
echo "    hooks as they ran (name, LVBACK_* they saw, PATH):"
sed 's/^/      /' "$hooklog"
check "the hooks ran in order" test "$(hook_order)" = "before after before after success"
check "before_snapshot saw the volume, source and repository" \
	grep -qx "before LVBACK_BACKUP_ID= LVBACK_HOOK=before_snapshot LVBACK_REPO=$repo LVBACK_SOURCE=/dev/vg/data LVBACK_STATUS= LVBACK_VOLUME=data PATH=.*" "$hooklog"
check "after_snapshot saw LVBACK_STATUS=ok" grep -q "^after .*LVBACK_STATUS=ok LVBACK_VOLUME=dataxfs " "$hooklog"
check "the hooks' PATH has the sbin directories" grep -q '^before .*PATH=/usr/bin:/bin:.*/usr/sbin' "$hooklog"
check "on_success got the summary (ok) on stdin" jq -e '.ok == true and (.volumes | length) == 2' /tmp/on_success.json
check "the metrics say lvback_run_success 1" grep -qx 'lvback_run_success 1' "$metrics"
for v in data dataxfs; do
	tree=$("$lvback" list --repo "$repo" --name "$v" --json | jq -er 'last | .path') || fail "$v: no backup listed"
	check "$v: the backup holds before_snapshot's marker" grep -q "written by before_snapshot" "$tree/$marker"
	check "$v: after_snapshot removed the marker from the origin" test ! -e "/mnt/$v/$marker"
	check "$v: rsync -naHA, getfacl and getfattr find no other difference between origin and backup" same_as_origin "/mnt/$v" "$tree"
	check "$v: the backup has the access ACL" grep -q 'user:1234:rw-' <<<"$(getfacl -p "$tree/shared/acl-file")"
	check "$v: the backup has the default ACL" grep -q 'default:group:2345:r-x' <<<"$(getfacl -p "$tree/shared/inherit")"
	check "$v: the backup has the xattrs" grep -q "hello from /mnt/$v" <<<"$(getfattr --absolute-names -n user.comment --only-values "$tree/shared/acl-file")"
done
no_leftovers "after the cron run"

echo "    xattrs of an XFS file with an ACL, as root sees them (origin, then backup):"
getfattr --absolute-names -h -d -m - /mnt/dataxfs/shared/acl-file | sed 's/^/      /'
getfattr --absolute-names -h -d -m - "$tree/shared/acl-file" | sed 's/^/      /'

step "a failing before_snapshot"
: >"$hooklog"
rm -f "$metrics" /tmp/on_failure.json
before_data=$(complete_count data)
cron_run /etc/lvback-fails.toml /tmp/run2.out
check "lvback run exits 1 when before_snapshot fails (got $status)" test "$status" -eq 1
sed 's/^/      /' "$hooklog"
check "after_snapshot still ran, then on_failure" test "$(hook_order)" = "fails after fails after failure"
check "after_snapshot saw LVBACK_STATUS=failed" grep -q '^after .*LVBACK_STATUS=failed' "$hooklog"
check "the error names the hook and its stderr" grep -q 'before_snapshot hook "lvback-hook-fails": exit status 7: cannot quiesce' /tmp/run2.out
check "on_failure got the summary on stdin" jq -e '.ok == false and (.volumes[0].error | test("before_snapshot"))' /tmp/on_failure.json
check "the metrics say lvback_run_success 0" grep -qx 'lvback_run_success 0' "$metrics"
check "no new backup" test "$(complete_count data)" = "$before_data"
no_leftovers "after a failing before_snapshot"

step "the repository lock is held"
: >"$hooklog"
rm -f "$metrics" /tmp/on_failure.json
# The scenario's shell holds the lock (fd 9) as another process would.
exec 9>"$repo/lock"
run flock -n 9
cron_env+=(LVBACK_LOCK_WAIT=0) # a backup would wait for the exclusive lock up to 15 minutes
cron_run /etc/lvback.toml /tmp/run3.out
unset 'cron_env[-1]'
exec 9>&-
check "lvback run exits 3 while the lock is held (got $status)" test "$status" -eq 3
sed 's/^/      /' "$hooklog"
check "only on_failure ran" test "$(hook_order)" = "failure"
check "on_failure's summary says locked" jq -e '.ok == false and (.error | test("lock"))' /tmp/on_failure.json
check "the metrics say lvback_run_success 0" grep -qx 'lvback_run_success 0' "$metrics"
no_leftovers "after the locked run"

step "a frozen origin"
: >"$hooklog"
write_config /etc/lvback-frozen.toml "" data
sed -i '/^after_snapshot/d' /etc/lvback-frozen.toml
run fsfreeze -f /mnt/data
cron_run /etc/lvback-frozen.toml /tmp/run4.out
frozen_dm=$(dmsetup info -c --noheadings -o name,attr 2>&1)
run fsfreeze -u /mnt/data
echo "    dmsetup info while frozen, after lvback: $(tr '\n' ' ' <<<"$frozen_dm")"
check "lvback run exits 1 on a frozen origin (got $status)" test "$status" -eq 1
check "the error says the origin is frozen and lvback needs no fsfreeze" grep -q "file system is frozen.*lvback needs no fsfreeze" /tmp/run4.out
check "the origin was not left suspended" grep -qx 'vg-data:L--w' <<<"$frozen_dm"
check "no -real or snapshot device-mapper device was left" not grep -q -e '-real:' -e 'lvback' <<<"$frozen_dm"
check "on_failure ran" test "$(hook_order)" = "failure"
no_leftovers "after the frozen origin"
check "after the thaw, lvback run exits 0" "${cron_env[@]}" "$lvback" run --config /etc/lvback-frozen.toml
no_leftovers "after the thawed run"
check "lvback verify exits 0" "$lvback" verify --repo "$repo"
