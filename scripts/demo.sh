#!/usr/bin/env bash
# Backs up a generated demo directory twice with lvback, changing one file in
# between, so the second run shows files linked instead of copied.
set -euo pipefail
bin=${1:-bin/lvback}
demo=${DEMO_DIR:-/tmp/lvback-demo}
rm -rf "$demo"
mkdir -p "$demo/src/etc" "$demo/src/data/logs"
for i in $(seq 1 200); do
	head -c $((RANDOM * 4)) /dev/urandom > "$demo/src/data/file$i.bin"
done
printf 'hostname=demo\n' > "$demo/src/etc/config"
ln -s ../etc/config "$demo/src/data/config-link"
echo "== create the repository (the only command that does)"
"$bin" init --repo "$demo/repo"
echo "== first backup (copies everything)"
"$bin" backup --repo "$demo/repo" --name demo --source "$demo/src"
sleep 1
echo "changed" >> "$demo/src/data/file1.bin"
echo "new" > "$demo/src/data/logs/new.log"
echo "== second backup (links unchanged files, copies 2)"
"$bin" backup --repo "$demo/repo" --name demo --source "$demo/src"
echo "== list"
"$bin" list --repo "$demo/repo"
echo "== the versions of one file across the backups (* where it changed)"
"$bin" find --repo "$demo/repo" --name demo /data/file1.bin
echo "== what the repository holds and costs"
"$bin" stats --repo "$demo/repo"
echo "== verify"
"$bin" verify --repo "$demo/repo"
echo "== restore the newest backup and compare"
"$bin" restore --repo "$demo/repo" --name demo --id latest --target "$demo/restored"
diff -r "$demo/src" "$demo/restored" && echo "restored tree is identical to the source"
