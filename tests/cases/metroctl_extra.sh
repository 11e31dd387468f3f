#!/bin/bash
# Run: tests/vm/run.sh metroctl_extra
# metroctl end-to-end checks: status text/json, examine, stop while open,
# incremental assembly, assemble when already active, create --force.
. "$METRO_SRC/tests/cases/lib.sh"
need_metro
M=$METROCTL
dd if=/dev/urandom of=/dev/ram0 bs=1M count=8 status=none
must mc status
must mc status --json
[ "$($M status --json)" = "[]" ] || fail "status --json without volumes is not []"
# throttled, so that leg B is still stale when examined below
must mc create ex /dev/ram0 /dev/ram1 --region-size 1M --resync-rate 1024
[ -b /dev/mapper/ex ] || fail "no /dev/mapper/ex right after create"
must mc status
must mc status ex
must mc -p status ex
js=$(status_json ex); echo "$js"
jq -e '.legs[0].role == "A" and .legs[0].device == "/dev/ram0" and .legs[1].devno == "1:1"' <<<"$js" || fail "status json legs"
jq -e '.size_sectors > 0 and .region_size_sectors == 2048 and (.sync.total_regions > 0)' <<<"$js" || fail "status json sizes"
must mc examine /dev/ram1
must mc examine --export /dev/ram1
$M examine --json /dev/ram1 | jq -e '.leg == "B" and .region_size_sectors == 2048 and (.legs[1].state | index("stale"))' || fail "examine --json: leg B is not stale during the initial sync"
mc assemble ex /dev/ram0 /dev/ram1 && fail "assemble of an active volume accepted"
exec 3</dev/mapper/ex
mc stop ex && fail "stop of an open volume accepted"
exec 3<&-
must dmsetup message ex 0 resync_rate 0
wait_sync ex 120
must mc status ex
must mc stop ex
[ -e /dev/mapper/ex ] && fail "/dev/mapper/ex left behind by stop"
log "incremental"
must mc incremental /dev/ram1
[ -b /dev/mapper/ex ] || fail "incremental did not assemble"
must mc incremental /dev/ram0
must mc stop ex
mkleg() { dmsetup create legb --table "0 200000 linear /dev/ram4 2048" && wait_node /dev/mapper/legb; }
mkleg || fail "dmsetup create legb"
LB=/dev/mapper/legb
must mc create inc /dev/ram3 $LB --assume-clean
must mc stop inc
dmsetup remove legb || fail "dmsetup remove legb"
out=$($M incremental /dev/ram3) || fail "incremental with one leg failed"
echo "$out"
grep -q waiting <<<"$out" || fail "incremental did not say it is waiting"
[ -e /dev/mapper/inc ] && fail "assembled with one leg"
mkleg || fail "dmsetup create legb"
must mc incremental $LB
[ -b /dev/mapper/inc ] || fail "incremental did not assemble inc"
must mc status
must mc stop inc
dmsetup remove legb
[ -e /dev/mapper/ex ] && fail "/dev/mapper/ex left behind by stop"
log "create --force over an old volume and an ext2"
/sbin/mke2fs -q -F /dev/ram2 || fail mke2fs
mc create ex2 /dev/ram2 /dev/ram1 && fail "create over ext2 accepted without --force"
must mc create ex2 /dev/ram2 /dev/ram1 --force --assume-clean
blkid /dev/ram2 && fail "ext2 signature still there"
must mc status
must mc stop ex2
must mc examine /dev/ram2
log "dmesg:"; dmesg | tail -5
pass
