#!/bin/bash
# metroctl restore and replace.  (1) Leg B (dm-linear over ram1) fails
# under writes; more regions are written while degraded; restore while B
# still fails is refused and leaves the volume running; once B is back,
# restore resyncs only the regions marked since.  (2) B fails again and is
# replaced by a ramdisk full of random data: full resync.  (3) Bad command
# lines change nothing.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/mapper/rr_b V=rr
sz=$(blockdev --getsz /dev/ram1)
linear_leg rr_b /dev/ram1
new_volume $V $A $B --region-size 1M
# A slow resync rate, so that the resync can be watched; restore and
# replace must keep it (they reload the same table line).
len=$(dmsetup table $V | awk '{print $2}')
must dmsetup load $V --table "0 $len metro $(devno $A) $(devno $B) 2 resync_rate 2048"
must dmsetup suspend $V
must dmsetup resume $V
show_status $V
total=$(st_sync $V); total=${total#*/}
log "total regions: $total"

randfile pat1 8
must write_file pat1 /dev/mapper/$V 4

fail_b() {
	must dmsetup load rr_b --table "0 $sz error"
	must dmsetup suspend rr_b
	must dmsetup resume rr_b
}
heal_b() {
	must dmsetup load rr_b --table "0 $sz linear /dev/ram1 0"
	must dmsetup suspend rr_b
	must dmsetup resume rr_b
}

# --- bad command lines (helpers) ------------------------------------------
# ram3: ext2; ram4: held by dm-linear 'rr_hold'; ram5 under the 1 MiB 'rr_tiny'
must /sbin/mke2fs -q -F /dev/ram3
must dmsetup create rr_hold --table "0 2048 linear /dev/ram4 0"
must dmsetup create rr_tiny --table "0 2048 linear /dev/ram5 0"
wait_node /dev/mapper/rr_tiny
state() {
	dmsetup table $V; dmsetup status $V | awk '{print $4, $5, $6}'
	local d
	for d in /dev/ram0 /dev/ram2 /dev/ram3 /dev/ram5 /dev/ram6; do echo "$d $(sum_range $d 0 4096)"; done
}
bad() {
	"$METROCTL" "$@" > out 2> err
	local rc=$?
	if [ $rc = 0 ]; then
		echo "ACCEPTED: metroctl $*"; nbad=$((nbad + 1))
	elif [ $rc -ge 128 ]; then
		echo "CRASHED ($rc): metroctl $*"; nbad=$((nbad + 1))
	elif [ "$(grep -c '^metroctl: ' err)" != 1 ] || [ "$(wc -l < err)" != 1 ]; then
		echo "NOT ONE MESSAGE LINE ($rc): metroctl $*: $(cat err)"; nbad=$((nbad + 1))
	else
		echo "refused ($rc): metroctl $*: $(cat err)"
	fi
}
nbad=0

# --- (1) restore -----------------------------------------------------------
fio --name=rrw --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randwrite \
	--bsrange=4k-64k --iodepth=16 --offset=32M --size=16M --runtime=6 --time_based \
	--output="$METRO_TMP/fio-w.out" &
wpid=$!
sleep 2
fail_b
log "leg B now returns errors"
wait $wpid || { cat "$METRO_TMP/fio-w.out"; fail "writes failed when leg B failed"; }
h=$(st_health $V)
[ "$h" = AD ] || fail "health is '$h' after the failure of leg B, expected AD"

# written while degraded: regions 64..71 (1 MiB regions)
randfile pat2 8
must write_file pat2 /dev/mapper/$V 64
# regions any write touched since create: 4..11, 32..47, 64..71
touched=$((8 + 16 + 8))

# restore while leg B still fails: refused, the old table stays live
tbl0=$(dmsetup table $V)
bad restore $V B
[ "$(dmsetup table $V)" = "$tbl0" ] || fail "the table changed after a refused restore"
dmsetup info $V | grep -q ACTIVE || fail "$V not active after a refused restore"
dmsetup info $V | grep -q SUSPENDED && fail "$V left suspended after a refused restore"
[ "$(st_health $V)" = AD ] || fail "health is '$(st_health $V)' after a refused restore"
randfile pat3 1
must write_file pat3 /dev/mapper/$V 66
check_file pat3 /dev/mapper/$V 66 || fail "I/O after a refused restore"
dd if=pat3 of=pat2 bs=1M seek=2 conv=notrunc status=none

heal_b
log "leg B is back"
out=$("$METROCTL" restore $V b) || fail "metroctl restore failed: $out"
echo "$out"
show_status $V
st=$(dmsetup status $V)
set -- $st
health=$7 in=${8%/*}
n=$(last_oos $V)
log "activation after restore: $n regions to resync, health $health, in_sync $in"
[ -n "$n" ] || fail "no activation line in dmesg"
[ "$(dmsetup table $V | grep -c 'resync_rate 2048')" = 1 ] || fail "restore lost the table options: $(dmsetup table $V)"
[ "$in" -gt 0 ] || fail "nothing in sync right after restore"
[ "$n" -ge 8 ] || fail "only $n regions to resync; the 8 written while degraded are more"
[ "$n" -le "$touched" ] || fail "$n regions to resync, but writes touched only $touched regions"
[ "$n" -lt "$total" ] || fail "restore resyncs everything ($n of $total)"
case $health in
Aa | AA) ;;
*) fail "health '$health' right after restore, expected Aa (or AA)" ;;
esac
grep -q "leg B re-added" <<<"$out" || fail "restore did not say what it did"
must dmsetup message $V 0 resync_rate 0
wait_sync $V 300
legs_identical $A /dev/ram1 || fail "legs differ after restore"
check_file pat1 /dev/mapper/$V 4 || fail "data written before the failure"
check_file pat2 /dev/mapper/$V 64 || fail "data written while degraded"

# restore of a leg that has not failed: refused without --force
if run "$METROCTL" restore $V B; then fail "restore of a healthy leg accepted"; fi
must mc restore $V B --force
wait_sync $V 120

# --- (2) replace -----------------------------------------------------------
must dmsetup message $V 0 resync_rate 2048
fail_b
randfile pat4 4
must write_file pat4 /dev/mapper/$V 100
h=$(st_health $V)
[ "$h" = AD ] || fail "health is '$h' after the second failure of leg B, expected AD"
# bad NEWDEVs for the failed leg B: nothing changes
state > before
bad replace $V B /dev/nosuchdev
bad replace $V B /dev/mapper/rr_tiny
bad replace $V B /dev/ram4
bad replace $V B $A
bad replace $V B /dev/ram3
bad replace $V B "$METRO_TMP"
bad replace $V A /dev/ram6
bad replace $V B
state > after
diff before after || fail "a refused replace changed something"
[ "$(st_health $V)" = AD ] || fail "health is '$(st_health $V)' after refused replaces"
must dd if=/dev/urandom of=/dev/ram2 bs=1M count=$(($(blockdev --getsz /dev/ram2) / 2048)) status=none
out=$("$METROCTL" replace $V B /dev/ram2) || fail "metroctl replace failed: $out"
echo "$out"
show_status $V
st=$(dmsetup status $V)
set -- $st
n=$(last_oos $V)
log "activation after replace: $n regions to resync, health $7"
[ "$5" = "$(devno $A)" ] && [ "$6" = "$(devno /dev/ram2)" ] || fail "status legs are $5 $6, expected A and /dev/ram2"
[ "$n" = "$total" ] || fail "replace resyncs $n regions, expected all $total"
case $7 in
Aa | AA) ;;
*) fail "health '$7' right after replace, expected Aa" ;;
esac
[ "$(dmsetup table $V | grep -c 'resync_rate 2048')" = 1 ] || fail "replace lost the table options: $(dmsetup table $V)"
must dmsetup message $V 0 resync_rate 0
wait_sync $V 600
legs_identical $A /dev/ram2 || fail "legs differ after replace"
check_file pat1 /dev/mapper/$V 4 || fail "data written before the first failure"
check_file pat2 /dev/mapper/$V 64 || fail "data written while degraded"
check_file pat4 /dev/mapper/$V 100 || fail "data written before replace"
ja=$(examine_json $A) || fail "examine $A"
jn=$(examine_json /dev/ram2) || fail "examine /dev/ram2"
log "new leg: $jn"
[ "$(jq -r .leg <<<"$jn")" = B ] || fail "the new leg is not leg B"
[ "$(jq -r .uuid <<<"$jn")" = "$(jq -r .uuid <<<"$ja")" ] || fail "the new leg has another volume uuid"
[ "$(jq -r '.legs[1].state | join(",")' <<<"$jn")" = active ] || fail "the new leg's record: $(jq -c '.legs[1]' <<<"$jn")"
must dmsetup remove rr_b

# --- (3) bad command lines ---------------------------------------------------
state > before
bad restore
bad restore $V
bad restore $V B extra
bad restore nosuchvol B
bad restore $V C
bad restore $V /dev/ram5
bad restore $V B
bad restore --bogus $V B
bad replace
bad replace $V B
bad replace $V B /dev/ram6 extra
bad replace nosuchvol B /dev/ram6
bad replace $V X /dev/ram6
bad replace $V B /dev/nosuchdev
bad replace $V B /dev/mapper/rr_tiny
bad replace $V B /dev/ram4
bad replace $V B $A
bad replace $V B /dev/ram2
bad replace $V A /dev/ram6
bad replace $V A /dev/ram6 --force
bad replace --force $V B /dev/ram4
bad replace $V B "$METRO_TMP"
state > after
diff before after || fail "a refused command changed something"
[ $nbad = 0 ] || fail "$nbad bad command lines were not refused properly"

# --force on a live leg B (the signature check is also forced)
must mc replace $V B /dev/ram3 --force
wait_sync $V 600
legs_identical $A /dev/ram3 || fail "legs differ after replacing the live leg B"
check_file pat2 /dev/mapper/$V 64 || fail "data after replacing the live leg B"
check_file pat4 /dev/mapper/$V 100 || fail "data after replacing the live leg B"
must dmsetup remove rr_hold rr_tiny
must mc stop $V
pass
