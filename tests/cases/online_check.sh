#!/bin/bash
# metroctl check, the online verify: on a volume in use, mismatches planted
# with dd on the legs below the volume are found and counted exactly, by
# region, in the exit status, status --json and the kernel log; --repair
# makes the legs byte-identical; a check under fio writes with verify finds
# nothing; a check can be stopped and started again where it stopped; one
# running when the volume stops goes on at the next assembly; a
# leg failing in the middle of a check ends it cleanly.
. "$(dirname "$0")/lib.sh"
need_metro

V=oc
A=/dev/ram0 B=/dev/mapper/oc_b
linear_leg oc_b /dev/ram1
sz=$(blockdev --getsz /dev/ram1)
new_volume $V $A $B --region-size 1M
total=$(st_sync $V); total=${total#*/}
log "$total regions of 1 MiB"
randfile base 48
must write_file base /dev/mapper/$V 0
show_status $V

# check_js: the check object of metroctl status --json
check_js() { status_json $V | jq -c .check; }
# check_rc CMD...: run metroctl, print and return its exit status
check_rc() { mc "$@"; local rc=$?; log "exit status $rc"; return $rc; }

# 1. two identical legs: exit 0, no mismatch
check_rc check $V --wait; rc=$?
[ $rc = 0 ] || fail "check of identical legs: exit status $rc, expected 0"
js=$(check_js); log "check: $js"
[ "$(jq -r .state <<<"$js")" = done ] || fail "check state is not done: $js"
[ "$(jq -r .mismatches <<<"$js")" = 0 ] || fail "mismatches in identical legs: $js"
[ "$(jq -r .position_regions <<<"$js")" = "$total" ] || fail "check did not reach the last region: $js"
[ "$(st_action $V)" = idle ] || fail "sync_action after the check: $(st_action $V)"

# 2. plant mismatches below the volume: region 5 and 77 on leg B (two
# blocks in region 77: counted once), region 40 on leg A
off=$(data_offset /dev/ram1)
plant() {	# DEV REGION KIB_INTO_REGION
	must dd if=/dev/urandom of="$1" bs=4096 count=1 oflag=direct,seek_bytes conv=notrunc status=none \
		seek=$((off * 512 + $2 * MIB + $3 * 1024))
}
plant /dev/ram1 5 8
plant /dev/ram1 77 4
plant /dev/ram1 77 900
plant /dev/ram0 40 1020
legs_identical /dev/ram0 /dev/ram1 && fail "the planted mismatches are not on the legs"
dmesg -C
check_rc check $V --wait; rc=$?
[ $rc = 3 ] || fail "check with 3 mismatching regions: exit status $rc, expected 3"
js=$(check_js); log "check: $js"
[ "$(jq -r .mismatches <<<"$js")" = 3 ] || fail "expected 3 mismatching regions: $js"
[ "$(jq -c .mismatch_regions <<<"$js")" = "[5,40,77]" ] || fail "expected regions 5, 40, 77: $js"
for r in 5 40 77; do
	dmesg_has "metro: $V: check: region $r (" || fail "the kernel log does not name region $r"
done
[ "$(dmesg | grep -c "metro: $V: check: region ")" = 3 ] || fail "the kernel log names other regions: $(dmesg | grep "check: region")"
dmesg_has "check complete: 3 regions differ" || fail "no end of check in the kernel log"
legs_identical /dev/ram0 /dev/ram1 && fail "a check without --repair changed a leg"
mc status $V

# 3. repair from leg A: the legs are identical after it, and a check finds 0
check_rc check $V --repair; rc=$?
[ $rc = 2 ] || fail "--repair without --from: exit status $rc, expected 2 (bad command line)"
check_rc check $V --repair --from A --wait; rc=$?
[ $rc = 3 ] || fail "repair of 3 mismatching regions: exit status $rc, expected 3"
[ "$(check_js | jq -r .mismatches)" = 3 ] || fail "repair found $(check_js) mismatches, expected 3"
legs_identical /dev/ram0 /dev/ram1 || fail "the legs differ after the repair"
cmp <(dd if=/dev/ram1 iflag=direct,skip_bytes,count_bytes bs=1M skip=$((off * 512 + 40 * MIB)) count=$MIB status=none) \
	<(dd if=/dev/ram0 iflag=direct,skip_bytes,count_bytes bs=1M skip=$((off * 512 + 40 * MIB)) count=$MIB status=none) ||
	fail "region 40 of leg B is not leg A's"
check_rc check $V --wait || fail "check after the repair found mismatches"

# 4. a check under application writes with verify: no false mismatch
fio_verify_write /dev/mapper/$V 8M 32M --loops=4 &
fpid=$!
sleep 1
check_rc check $V --wait; rc=$?
wait $fpid || fail "fio verify failed during the check"
[ $rc = 0 ] || fail "check under fio writes: exit status $rc, expected 0 ($(check_js))"
legs_identical /dev/ram0 /dev/ram1 || fail "legs differ after fio and the check"

# 5. stop and start again where it stopped (slowly: 2 MiB/s, 2 regions a second)
must dmsetup message $V 0 resync_rate 2048
check_rc check $V || fail "check did not start"
[ "$(st_action $V)" = check ] || fail "sync_action during a check: $(st_action $V)"
sleep 3
check_rc check $V || :
[ "$(check_js | jq -r .state)" = check ] || fail "a second check start changed the running one: $(check_js)"
check_rc check $V --stop || fail "check --stop failed"
js=$(check_js); log "stopped: $js"
[ "$(jq -r .state <<<"$js")" = stopped ] || fail "state after --stop: $js"
pos=$(jq -r .position_regions <<<"$js")
[ "$pos" -gt 0 ] && [ "$pos" -lt "$total" ] || fail "stopped at region $pos of $total"
dmesg_has "check stopped at region $pos of $total on request" || fail "no stop message in the kernel log"
must dmsetup message $V 0 resync_rate 0
check_rc check $V --start "$pos" --wait || fail "check from region $pos found mismatches or failed"

# 6. a check running when the volume stops is recorded in the superblocks
# and goes on where it was at the next assembly
must dmsetup message $V 0 resync_rate 2048
check_rc check $V || fail "check did not start"
sleep 3
run mc stop $V || fail "metroctl stop during a check failed"
flags=$(sb_u32 /dev/ram0 232) cpos=$(sb_u64 /dev/ram0 236)
log "superblock of leg A: check flags $flags, position $cpos"
[ "$flags" = 1 ] || fail "superblock check flags $flags, expected 1 (a check running)"
[ "$cpos" -gt 0 ] && [ "$cpos" -lt "$total" ] || fail "superblock check position $cpos of $total"
[ "$(sb_u32 /dev/ram1 232)/$(sb_u64 /dev/ram1 236)" = "$flags/$cpos" ] || fail "leg B's superblock records another check"
[ "$(examine_json /dev/ram0 | jq -c .check)" = "{\"action\":\"check\",\"repair_from\":null,\"position_regions\":$cpos}" ] ||
	fail "examine does not show the check: $(examine_json /dev/ram0 | jq -c .check)"
dmesg -C
must mc assemble $V $A $B
wait_node /dev/mapper/$V
js=$(check_js); log "after assembly: $js"
[ "$(jq -r .state <<<"$js")" = check ] || fail "the check did not resume: $js"
[ "$(jq -r .position_regions <<<"$js")" -ge "$cpos" ] || fail "the check resumed before region $cpos: $js"
dmesg_has "check resumes at region $cpos of $total" || fail "no resume message in the kernel log"
# --wait on a running check follows it (16 MiB/s: 8 regions a second)
must dmsetup message $V 0 resync_rate 16384
mc check $V --wait > follow.out; rc=$?
cat follow.out
[ $rc = 0 ] || fail "the resumed check found mismatches or failed ($rc)"
grep -q "following the check running at region" follow.out || fail "check --wait did not follow the running check"
must dmsetup message $V 0 resync_rate 0
[ "$(check_js | jq -r .state)" = done ] || fail "state after the resumed check: $(check_js)"
run mc stop $V || fail "metroctl stop failed"
[ "$(sb_u32 /dev/ram0 232)" = 0 ] || fail "a finished check is still recorded in the superblock"
must mc assemble $V $A $B
wait_node /dev/mapper/$V
[ "$(check_js | jq -r .state)" = idle ] || fail "a finished check came back at assembly: $(check_js)"

# 7. leg B fails in the middle of a check: the check ends, the volume goes on
must dmsetup message $V 0 resync_rate 2048
dmesg -C
check_rc check $V || fail "check did not start"
sleep 3
must dmsetup load oc_b --table "0 $sz error"
must dmsetup suspend oc_b
must dmsetup resume oc_b
log "leg B now returns errors"
must write_file base /dev/mapper/$V 0
t0=$SECONDS
while [ "$(check_js | jq -r .state)" = check ]; do
	[ $((SECONDS - t0)) -lt 30 ] || fail "the check still runs 30 s after leg B failed: $(check_js)"
	sleep 0.5
done
js=$(check_js); log "after the failure: $js"
[ "$(jq -r .state <<<"$js")" = failed ] || fail "state after a leg failure: $js"
dmesg | grep -E "metro: $V: (check|repair)" || :
dmesg_has "check stopped at region" || fail "no check end in the kernel log"
[ "$(st_health $V)" = AD ] || fail "health after leg B failed: $(st_health $V)"
check_file base /dev/mapper/$V 0 || fail "data reads back wrong after the failure"
check_rc check $V; rc=$?
[ $rc = 1 ] || fail "check of a degraded volume: exit status $rc, expected 1"
show_status $V
run mc stop $V || fail "metroctl stop failed"
pass "mismatches found and counted, repaired, stop and restart, leg failure"
