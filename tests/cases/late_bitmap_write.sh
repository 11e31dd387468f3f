#!/bin/bash
# A bitmap write abandoned on its I/O deadline must land harmlessly when
# the device finally returns it (issue 26 §1, the bitmap's half).  Leg A's
# bitmap sectors (16 on) sit in a dm-delay segment holding writes 12 s; the
# first write into a clean region marks it, leg A's bitmap write misses
# the 1 s deadline and A is detached; more marks (other regions) and
# clearing passes (clear_delay 2 s) run on leg B alone.  (1) The held
# write lands while the volume runs; (2) the volume is stopped before it
# lands (a table removal that does not wait for late I/O must leave it
# harmless too).  Each time: leg A's superblock still says leg A of this
# volume, assemble takes both legs and resyncs A from B, the data written
# while A was away reads back, the legs end identical.
. "$(dirname "$0")/lib.sh"
need_metro

V=lbm
LEG=$((48 * 2048))	# 48 MiB legs: the leg comparisons stay short
A=/dev/mapper/lbm_a B=/dev/mapper/lbm_b
HOLD=12000	# ms dm-delay holds leg A's bitmap writes; io_deadline is 1000
linear_leg lbm_a /dev/ram0 $LEG
linear_leg lbm_b /dev/ram1 $LEG
new_volume $V $A $B --region-size 1M
metro_opts $V "4 io_deadline 1000 clear_delay 2000"
dmsetup table $V | grep -q "io_deadline 1000" || fail "io_deadline not in the table: $(dmsetup table $V)"
bm=$(bm_sectors $A)
meta_leg lbm_a /dev/ram0 "$bm"
uuid=$(examine_json $A | jq -r .uuid)
[ "$(examine_json $A | jq -r .leg)" = A ] && [ "$(examine_json $B | jq -r .leg)" = B ] &&
	[ "$(examine_json $B | jq -r .uuid)" = "$uuid" ] || fail "setup: the legs do not say A and B of one volume"
randfile base 8
must write_file base /dev/mapper/$V 0

# wait_clean: no dirty region left, so that the next write marks its region
wait_clean() {
	for _ in $(seq 160); do [ "$(st_dirty $V)" = 0 ] && return 0; sleep 0.25; done
	fail "dirty regions not cleared within 40 s: $(dmsetup status $V)"
}

# round R FIRST_MIB WHEN: hold leg A's bitmap writes, write into clean
# regions FIRST_MIB.. (1 MiB regions), then let the held write land while
# the volume runs (WHEN=running) or stop the volume first (WHEN=stopped)
round() {
	local r=$1 at=$2 when=$3 t0 t1 ja out n
	log "--- round $r: the held bitmap write lands with the volume $when (${SECONDS}s into the case)"
	wait_clean
	[ "$(bm_bit /dev/ram0 "$at")" = 0 ] && [ "$(bm_bit /dev/ram1 "$at")" = 0 ] ||
		fail "setup: region $at already marked on disk"
	randfile p${r}a 1; randfile p${r}b 1; randfile p${r}c 1
	dmesg -C
	meta_leg lbm_a /dev/ram0 "$bm" linear "delay $HOLD"
	t0=$SECONDS
	must write_file p${r}a /dev/mapper/$V "$at"
	log "the first write into region $at took $((SECONDS - t0))s; lbm_a holds $(held_writes lbm_a) write(s)"
	dmesg | grep "metro: $V:" | sed 's/^/dmesg: /'
	dmesg_has "metadata write to leg A .* did not complete within 1000 ms" ||
		fail "setup: no bitmap write to leg A was held past the deadline (no 'did not complete within' in dmesg)"
	dmesg_has "leg A .* failed on a bitmap write and is detached" ||
		fail "setup: leg A was not detached by its bitmap write"
	[ "$(held_writes lbm_a)" -ge 1 ] || fail "setup: the delay segment of leg A holds no write"
	[ "$(st_health $V)" = DA ] || fail "leg A not detached: $(dmsetup status $V)"
	[ "$(bm_bit /dev/ram1 "$at")" = 1 ] || fail "region $at is not marked on leg B"
	# more marks, in other regions, and a clearing pass or two, on leg B alone
	must write_file p${r}b /dev/mapper/$V $((at + 10))
	must dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=1 seek=$(((at + 20) * 256)) oflag=direct status=none
	sleep 2.5
	must write_file p${r}c /dev/mapper/$V $((at + 30))
	[ "$(held_writes lbm_a)" -ge 1 ] ||
		fail "setup: leg A's held write landed $((SECONDS - t0))s after the hold began, before the later passes were done"
	if [ "$when" = stopped ]; then
		t1=$SECONDS
		must mc stop $V
		log "stop took $((SECONDS - t1))s; lbm_a holds $(held_writes lbm_a) write(s) after it"
		[ "$(held_writes lbm_a)" = 0 ] &&
			log "(the table's removal waited for the abandoned write: it landed before the stop returned)"
	fi
	while [ "$(held_writes lbm_a)" != 0 ] && [ $((SECONDS - t0)) -lt $((HOLD / 1000 + 20)) ]; do sleep 0.5; done
	[ "$(held_writes lbm_a)" = 0 ] || fail "leg A's held write never landed"
	log "leg A's held bitmap write landed by $((SECONDS - t0))s after the hold began"
	sleep 1
	"$METROCTL" examine /dev/ram0 | sed 's/^/examine leg A: /'
	ja=$(examine_json /dev/ram0) || fail "metroctl examine of leg A's device (/dev/ram0) fails after the late write"
	[ "$(jq -r .leg <<<"$ja")" = A ] && [ "$(jq -r .uuid <<<"$ja")" = "$uuid" ] &&
		[ "$(jq -r .name <<<"$ja")" = $V ] ||
		fail "leg A's device no longer says leg A of $V ($uuid) after the late bitmap write: $(jq -c '{uuid, name, leg}' <<<"$ja")"
	[ "$(examine_json /dev/ram1 | jq -r .leg)" = B ] || fail "leg B's superblock no longer says leg B"
	if [ "$when" = running ]; then
		[ "$(st_health $V)" = DA ] || fail "health changed when the late write landed: $(dmsetup status $V)"
		check_file p${r}a /dev/mapper/$V "$at" || fail "data written while leg A was away reads back wrong"
		must mc stop $V
	fi
	meta_leg lbm_a /dev/ram0 "$bm"
	out=$(mc assemble $V $A $B 2>&1) || fail "assemble refused both legs after the late bitmap write: $out"
	echo "$out"
	grep -q "leg A .* missed writes made on leg B" <<<"$out" || fail "assemble does not resync leg A from leg B: $out"
	wait_node /dev/mapper/$V
	dmesg | grep "metro: $V: activated:" | tail -n 1
	n=$(last_oos $V)
	[ -n "$n" ] && [ "$n" -ge 4 ] || fail "activation left ${n:-no} regions to resync, expected at least the 4 written while leg A was away"
	dmesg | grep "metro: $V: activated:" | tail -n 1 | grep -q "from leg B" || fail "the resync does not come from leg B"
	wait_sync $V 120
	check_file base /dev/mapper/$V 0 || fail "data written before the stall reads back wrong after the resync"
	check_file p${r}a /dev/mapper/$V "$at" || fail "data written while leg A was away reads back wrong after the resync"
	check_file p${r}b /dev/mapper/$V $((at + 10)) || fail "data written while leg A was away reads back wrong after the resync"
	check_file p${r}c /dev/mapper/$V $((at + 30)) || fail "data written while leg A was away reads back wrong after the resync"
	must mc stop $V
	legs_identical $A $B || fail "legs differ after the resync (round $r)"
}

round 1 8 running
must mc assemble $V $A $B
wait_node /dev/mapper/$V
round 2 9 stopped
must dmsetup remove lbm_a
must dmsetup remove lbm_b
pass
