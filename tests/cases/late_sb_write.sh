#!/bin/bash
# A superblock write abandoned on its I/O deadline must land harmlessly
# when the device finally returns it: it must carry leg A's own
# superblock, never one encoded later for leg B (issue 26 §1).  Leg A's
# superblock sectors (8..15) sit in a dm-delay segment holding writes 10 s;
# a suspend/resume of the volume writes the superblocks, leg A's write
# misses the 1 s deadline and A is detached; more superblock passes and
# data writes go to leg B alone; then A's held write lands.  Leg A's
# superblock must still say leg A of this volume, assemble must take both
# legs and resync A from B, the data written meanwhile must read back and
# the legs must end identical.
. "$(dirname "$0")/lib.sh"
need_metro

V=lsb
LEG=$((48 * 2048))	# 48 MiB legs: the leg comparisons stay short
A=/dev/mapper/lsb_a B=/dev/mapper/lsb_b
HOLD=10000	# ms dm-delay holds leg A's superblock writes; io_deadline is 1000
linear_leg lsb_a /dev/ram0 $LEG
linear_leg lsb_b /dev/ram1 $LEG
new_volume $V $A $B --region-size 1M
metro_opts $V "2 io_deadline 1000"
dmsetup table $V | grep -q "io_deadline 1000" || fail "io_deadline not in the table: $(dmsetup table $V)"
bm=$(bm_sectors $A)
# the same mapping, in segments: superblock and bitmap apart from the data
meta_leg lsb_a /dev/ram0 "$bm"
uuid=$(examine_json $A | jq -r .uuid)
[ "$(examine_json $A | jq -r .leg)" = A ] && [ "$(examine_json $B | jq -r .leg)" = B ] &&
	[ "$(examine_json $B | jq -r .uuid)" = "$uuid" ] || fail "setup: the legs do not say A and B of one volume"
randfile base 8
must write_file base /dev/mapper/$V 0
randfile p1 2
randfile p2 1

# leg A's superblock writes are held from now on; a suspend writes them
dmesg -C
meta_leg lsb_a /dev/ram0 "$bm" "delay $HOLD" linear
t0=$SECONDS
must dmsetup suspend $V
must dmsetup resume $V
log "suspend/resume took $((SECONDS - t0))s; lsb_a holds $(held_writes lsb_a) write(s)"
dmesg | grep "metro: $V:" | sed 's/^/dmesg: /'
dmesg_has "metadata write to leg A .* did not complete within 1000 ms" ||
	fail "setup: no superblock write to leg A was held past the deadline (no 'did not complete within' in dmesg)"
dmesg_has "leg A .* failed on a superblock write and is detached" ||
	fail "setup: leg A was not detached by its superblock write"
[ "$(held_writes lsb_a)" -ge 1 ] || fail "setup: the delay segment of leg A holds no write"
[ "$(st_health $V)" = DA ] || fail "leg A not detached: $(dmsetup status $V)"

# leg A away: data and more superblock passes on leg B alone
must write_file p1 /dev/mapper/$V 20
must dmsetup suspend $V
must dmsetup resume $V
must write_file p2 /dev/mapper/$V 40
[ "$(held_writes lsb_a)" -ge 1 ] ||
	fail "setup: leg A's held write landed $((SECONDS - t0))s after the hold began, before the later passes were done"

# the held write lands now
while [ "$(held_writes lsb_a)" != 0 ] && [ $((SECONDS - t0)) -lt $((HOLD / 1000 + 20)) ]; do sleep 0.5; done
[ "$(held_writes lsb_a)" = 0 ] || fail "leg A's held write never landed"
log "leg A's held superblock write landed $((SECONDS - t0))s after the hold began"
sleep 1
"$METROCTL" examine /dev/ram0 | sed 's/^/examine leg A: /'
ja=$(examine_json /dev/ram0) || fail "metroctl examine of leg A's device (/dev/ram0) fails after the late write"
[ "$(jq -r .leg <<<"$ja")" = A ] ||
	fail "the late superblock write stamped leg $(jq -r .leg <<<"$ja")'s superblock onto leg A's device: examine /dev/ram0 says leg $(jq -r .leg <<<"$ja") of '$(jq -r .name <<<"$ja")'"
[ "$(jq -r .uuid <<<"$ja")" = "$uuid" ] && [ "$(jq -r .name <<<"$ja")" = $V ] ||
	fail "leg A's device no longer belongs to volume $V ($uuid): $(jq -c '{uuid, name, leg}' <<<"$ja")"
[ "$(examine_json /dev/ram1 | jq -r .leg)" = B ] || fail "leg B's superblock no longer says leg B"
[ "$(st_health $V)" = DA ] || fail "health changed when the late write landed: $(dmsetup status $V)"
check_file p1 /dev/mapper/$V 20 || fail "data written while leg A was away reads back wrong"

# back: both legs assembled, A resynced from B
meta_leg lsb_a /dev/ram0 "$bm"
must mc stop $V
out=$(mc assemble $V $A $B 2>&1) || fail "assemble refused both legs after the late superblock write: $out"
echo "$out"
grep -q "leg A .* missed writes made on leg B" <<<"$out" || fail "assemble does not resync leg A from leg B: $out"
wait_node /dev/mapper/$V
dmesg | grep "metro: $V: activated:" | tail -n 1
n=$(last_oos $V)
[ -n "$n" ] && [ "$n" -ge 3 ] || fail "activation left ${n:-no} regions to resync, expected at least the 3 written while leg A was away"
dmesg | grep "metro: $V: activated:" | tail -n 1 | grep -q "from leg B" || fail "the resync does not come from leg B"
wait_sync $V 120
check_file base /dev/mapper/$V 0 || fail "data written before the stall reads back wrong after the resync"
check_file p1 /dev/mapper/$V 20 || fail "data written while leg A was away reads back wrong after the resync"
check_file p2 /dev/mapper/$V 40 || fail "data written while leg A was away reads back wrong after the resync"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
[ "$(examine_json $A | jq -r .leg)" = A ] || fail "leg A's superblock says leg B after the resync"
must dmsetup remove lsb_a
must dmsetup remove lsb_b
pass
