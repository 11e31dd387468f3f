#!/bin/bash
# One leg assembled alone (--degraded: the other site is gone) starts a new
# data generation once, runs with health AD and sync_action "degraded", and
# the absent leg, given back in either order, is recognised as the older
# copy: only the regions written meanwhile are resynced to it.  A leg that
# was still being resynced is refused alone, by metroctl and by the kernel.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=dg
own_gen() { examine_json "$1" | jq -r '.leg as $l | .legs[] | select(.role == $l) | .generation'; }
rec_state() { examine_json "$1" | jq -r --arg r "$2" '.legs[] | select(.role == $r) | .state | join(",")'; }

must mc create $V $A $B --assume-clean
wait_node /dev/mapper/$V
randfile base 32
must write_file base /dev/mapper/$V 0
must mc stop $V
g0=$(own_gen $A)
[ "$g0" = "$(own_gen $B)" ] || fail "legs of a new volume hold different generations"

# leg A alone
must mc assemble --degraded $V $A
wait_node /dev/mapper/$V
show_status $V
[ "$(st_health $V)" = AD ] || fail "health $(st_health $V) alone, expected AD"
[ "$(st_action $V)" = degraded ] || fail "sync_action $(st_action $V) alone, expected degraded"
dmsetup table $V | grep -q " metro $(devno $A) - *\$" || fail "table does not show leg B absent: $(dmsetup table $V)"
js=$(status_json $V)
[ "$(jq -r '.legs[1].absent' <<<"$js")" = true ] || fail "metroctl status does not show leg B absent: $js"
[ "$(jq -r '.legs[1].health' <<<"$js")" = failed ] || fail "metroctl status: leg B not failed: $js"
randfile pat2 4
must write_file pat2 /dev/mapper/$V 8
must mc stop $V
g1=$(own_gen $A)
[ "$g1" != "$g0" ] || fail "leg A kept generation $g0 running alone"
[ "$(examine_json $A | jq -r '.gen_history[0]')" = "$g0" ] || fail "leg A's history does not start with $g0"
rec_state $A B | grep -q failed || fail "leg A does not record leg B failed: $(rec_state $A B)"
[ "$(own_gen $B)" = "$g0" ] || fail "leg B's generation changed while absent"

# alone again: no second generation (the history must not fill up)
must mc assemble --degraded $V $A
wait_node /dev/mapper/$V
randfile pat3 4
must write_file pat3 /dev/mapper/$V 20
must mc stop $V
[ "$(own_gen $A)" = "$g1" ] || fail "a second degraded activation started another generation"

# leg B back, given first: it is the older copy whatever the order
out=$(mc assemble $V $B $A 2>&1) || fail "assemble with leg B back failed: $out"
echo "$out"
grep -q "leg B .* missed writes" <<<"$out" || fail "assemble did not say leg B missed writes"
wait_node /dev/mapper/$V
show_status $V
oos=$(last_oos $V)
log "regions to resync: $oos"
[ "${oos:-0}" -ge 1 ] && [ "$oos" -le 4 ] || fail "${oos:-no} regions to resync after 8 MiB written in 2 places (expected 2-4, not a full resync)"
wait_sync $V 120
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
[ "$(own_gen $B)" = "$g1" ] || fail "leg B did not adopt generation $g1 after the resync ($(own_gen $B))"
must mc assemble $V $A $B
wait_node /dev/mapper/$V
cmp <(dd if=/dev/mapper/$V bs=1M count=8 iflag=direct status=none) <(head -c $((8 * MIB)) base) ||
	fail "data before the degraded run reads back wrong"
check_file pat2 /dev/mapper/$V 8 || fail "data written on leg A alone reads back wrong"
check_file pat3 /dev/mapper/$V 20 || fail "data of the second degraded run reads back wrong"
must mc stop $V

# leg B alone this time, then restore leg A into the running volume
must mc assemble --degraded $V $B
wait_node /dev/mapper/$V
[ "$(st_health $V)" = DA ] || fail "health $(st_health $V) with leg B alone, expected DA"
randfile pat4 4
must write_file pat4 /dev/mapper/$V 40
run mc restore $V A && fail "restore of an absent leg without its device succeeded"
must mc restore $V A $A
wait_sync $V 120
check_file pat4 /dev/mapper/$V 40 || fail "data written on leg B alone reads back wrong"
must mc stop $V
legs_identical $A $B || fail "legs differ after restoring leg A"

# a leg that was being resynced cannot run alone
# at 1 MiB/s the initial sync is still early when paused (unthrottled it
# takes a fraction of a second)
must mc create ${V}2 /dev/ram2 /dev/ram3 --resync-rate 1024
must dmsetup message ${V}2 0 pause_resync
must mc stop ${V}2
rec_state /dev/ram3 B | grep -q stale || fail "leg B is not stale: the initial sync finished at 1 MiB/s before it was paused"
run mc assemble --degraded ${V}2 /dev/ram3 && fail "metroctl assembled an unfinished resync target alone"
sz=$(data_size /dev/ram3)
run dmsetup create ${V}3 --table "0 $sz metro - /dev/ram3" && fail "the kernel activated an unfinished resync target alone"
dmesg | tail -5 | grep -q "holds no complete copy" || fail "no kernel message about the incomplete leg"
# the complete leg A alone is fine
must mc assemble --degraded ${V}2 /dev/ram2
must mc stop ${V}2
pass
