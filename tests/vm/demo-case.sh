#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The narrated demo (tests/vm/demo.sh runs it in the test VM): a dm-metro
# volume keeps serving a file system while one of its legs dies.
. "$METRO_SRC/tests/cases/lib.sh"
need_metro
M=$METROCTL
say() { printf '\n==> %s\n' "$*"; }
show() { echo "\$ $*"; "$@"; }

say "Two 128 MiB ramdisk legs: A = /dev/ram0, B = /dev/ram1 behind dm-linear 'legb', so we can break it"
sz=$(blockdev --getsz /dev/ram1)
show dmsetup create legb --table "0 $sz linear /dev/ram1 0" || fail "dmsetup create legb"
wait_node /dev/mapper/legb

say "Create the mirrored volume 'demo' (both legs formatted, leg B synced from A)"
show "$M" create demo /dev/ram0 /dev/mapper/legb || fail "metroctl create"
wait_node /dev/mapper/demo
wait_sync demo 120 >/dev/null
show "$M" status demo

say "Put an ext2 file system on it and write a file with a checksum"
show /sbin/mke2fs -q -F /dev/mapper/demo || fail "mke2fs"
mkdir -p /mnt/demo
show mount /dev/mapper/demo /mnt/demo || fail "mount"
head -c $((16 * MIB)) /dev/urandom > /mnt/demo/before.bin
sync
( cd /mnt/demo && md5sum before.bin | tee /tmp/demo.md5 )

say "Leg B fails: its dm-linear device is switched to the 'error' target"
show dmsetup load legb --table "0 $sz error" || fail "dmsetup load"
show dmsetup suspend legb || fail "suspend"
show dmsetup resume legb || fail "resume"

say "Keep writing: the application sees no error"
errs=0
head -c $((16 * MIB)) /dev/urandom > /mnt/demo/after.bin || errs=1
sync || errs=1
( cd /mnt/demo && md5sum after.bin | tee -a /tmp/demo.md5 )
show dmsetup status demo
show "$M" status demo
health=$(st_health demo)
legb=$(status_json demo | jq -r '.legs[] | select(.role == "B") | .health')

say "Drop the caches, remount, verify both files"
show umount /mnt/demo
echo 3 > /proc/sys/vm/drop_caches
show mount /dev/mapper/demo /mnt/demo || fail "remount"
ok=1
( cd /mnt/demo && md5sum -c /tmp/demo.md5 ) || ok=0
show umount /mnt/demo
show /sbin/e2fsck -fn /dev/mapper/demo || ok=0
"$M" stop demo >/dev/null 2>&1

echo
echo "==================== SUMMARY ===================="
r() { printf '  %-48s %s\n' "$1" "$2"; }
[ $errs = 0 ] && r "writes after the failure succeeded" yes || { r "writes after the failure succeeded" NO; ok=0; }
[ "$health" = AD ] && r "target health after the failure" "$health (A alive, B dead)" || { r "target health after the failure" "$health (expected AD)"; ok=0; }
[ "$legb" = failed ] && r "metroctl status: leg B" "$legb" || { r "metroctl status: leg B" "$legb (expected failed)"; ok=0; }
[ $ok = 1 ] && r "checksums and fsck" "match" || r "checksums / fsck" "MISMATCH"
if [ $ok = 1 ]; then echo "DEMO PASS: the volume survived the loss of leg B"; exit 0; fi
echo "DEMO FAIL"
exit 1
