#!/bin/bash
# A bitmap write that fails on every live leg (issue 26 §2) must not leave
# the region marked in memory only.  The bitmap sectors of both legs are
# switched to dm-error; the first write into a clean region fails (its
# mark could not be written anywhere); the bitmap comes back and a second
# write into the same region succeeds: by then the region's bit must be
# on disk on both legs, or a crash would leave the region out of any
# resync.  Then a crash is simulated (both legs fail under the volume,
# which is removed, so nothing is written at the stop) and the next
# activation must find the region to resync.  clear_delay is 600 s: no
# clearing pass runs meanwhile.
. "$(dirname "$0")/lib.sh"
need_metro

V=bwf
LEG=$((48 * 2048))	# 48 MiB legs: the leg comparisons stay short
A=/dev/mapper/bwf_a B=/dev/mapper/bwf_b
R=10	# the region (1 MiB regions)
linear_leg bwf_a /dev/ram0 $LEG
linear_leg bwf_b /dev/ram1 $LEG
new_volume $V $A $B --region-size 1M
metro_opts $V "4 io_deadline 1000 clear_delay 600000"
dmsetup table $V | grep -q "clear_delay 600000" || fail "clear_delay not in the table: $(dmsetup table $V)"
bm=$(bm_sectors $A)
meta_leg bwf_a /dev/ram0 "$bm"
meta_leg bwf_b /dev/ram1 "$bm"
[ "$(st_dirty $V)" = 0 ] || fail "setup: dirty regions on a fresh volume: $(dmsetup status $V)"
[ "$(bm_bit /dev/ram0 $R)" = 0 ] && [ "$(bm_bit /dev/ram1 $R)" = 0 ] || fail "setup: region $R marked on disk before any write"

# 1. no leg takes the mark: the write fails, both legs stay attached
dmesg -C
meta_leg bwf_a /dev/ram0 "$bm" linear error
meta_leg bwf_b /dev/ram1 "$bm" linear error
md0=$(st_mdwrites $V)
run dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=1 seek=$((R * 256 + 5)) oflag=direct status=none &&
	fail "setup: a write into clean region $R succeeded with the bitmap of both legs failing"
dmesg | grep "metro: $V:" | sed 's/^/dmesg: /'
dmesg_has "cannot write the write-intent bitmap to any leg" ||
	fail "setup: the write did not fail on its bitmap write (no 'cannot write the write-intent bitmap' in dmesg)"
[ "$(st_mdwrites $V)" -gt "$md0" ] || fail "setup: no metadata write was tried"
show_status $V
[ "$(st_health $V)" = AA ] || fail "a leg was detached although both failed the same bitmap write: $(dmsetup status $V)"

# 2. the bitmap is back: a second write into the region succeeds
meta_leg bwf_a /dev/ram0 "$bm"
meta_leg bwf_b /dev/ram1 "$bm"
randfile p1 1
md1=$(st_mdwrites $V)
must write_file p1 /dev/mapper/$V $R
a=$(bm_bit /dev/ram0 $R) b=$(bm_bit /dev/ram1 $R)
log "after the second write into region $R: on-disk bit A=$a B=$b; metadata writes $md1 -> $(st_mdwrites $V); status: $(dmsetup status $V)"
[ "$a" = 1 ] && [ "$b" = 1 ] ||
	fail "region $R is written but its bit is not on disk (leg A $a, leg B $b) while the volume counts $(st_dirty $V) dirty region(s): the failed mark stayed set in memory only, a crash now leaves region $R out of the resync"
[ "$(st_dirty $V)" -ge 1 ] || fail "the volume counts no dirty region after the write"
check_file p1 /dev/mapper/$V $R || fail "data reads back wrong"

# 3. crash: both legs fail under the volume, nothing is written at its
# removal; the next activation resyncs region R
reload bwf_a "0 $LEG error"
reload bwf_b "0 $LEG error"
must dmsetup remove $V
meta_leg bwf_a /dev/ram0 "$bm"
meta_leg bwf_b /dev/ram1 "$bm"
[ "$(bm_bit /dev/ram0 $R)" = 1 ] && [ "$(bm_bit /dev/ram1 $R)" = 1 ] || fail "region $R no longer marked on disk after the crash"
must mc assemble $V $A $B
wait_node /dev/mapper/$V
dmesg | grep "metro: $V: activated:" | tail -n 1
n=$(last_oos $V)
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "after the crash the activation resyncs ${n:-no} regions: region $R, written before the crash, is not among them"
wait_sync $V 60
check_file p1 /dev/mapper/$V $R || fail "data reads back wrong after the crash's resync"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
must dmsetup remove bwf_a
must dmsetup remove bwf_b
pass
