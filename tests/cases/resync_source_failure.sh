#!/bin/bash
# The resync source fails while the other leg is still being resynced from
# it: the source holds the only complete copy, so it is not detached.
# Writes fail with an error (never acknowledged on the incomplete leg
# alone), reads of regions already copied are served by the target, and
# once the source is repaired the resync resumes and completes with every
# acknowledged write intact and both legs identical.
. "$(dirname "$0")/lib.sh"
need_metro

V=rsf
sz=$(blockdev --getsz /dev/ram0)
linear_leg rsf_a /dev/ram0
linear_leg rsf_b /dev/ram1
A=/dev/mapper/rsf_a B=/dev/mapper/rsf_b
set_leg() { reload "$1" "0 $sz $2"; }

new_volume $V $A $B --region-size 1M
randfile base 96
must write_file base /dev/mapper/$V 0

# leg B fails; 64 MiB written on leg A alone
set_leg rsf_b error
dd if=/dev/zero of=/dev/mapper/$V bs=4k count=1 seek=100 oflag=direct status=none
[ "$(st_health $V)" = AD ] || fail "leg B not detached: $(st_health $V)"
randfile new 64
must write_file new /dev/mapper/$V 16
cp base expect
dd if=new of=expect bs=1M seek=16 conv=notrunc status=none
dd if=/dev/zero of=expect bs=4k count=1 seek=100 conv=notrunc status=none

# leg B back, resynced slowly (1 MiB/s); the live rate goes into the new table
set_leg rsf_b "linear /dev/ram1 0"
must dmsetup message $V 0 resync_rate 1024
must mc restore $V B
sleep 4
show_status $V
in=$(st_sync $V | cut -d/ -f1) tot=$(st_sync $V | cut -d/ -f2)
[ "$in" -lt "$tot" ] || fail "resync already done; cannot fail its source mid-way"
[ "$(st_health $V)" = Aa ] || fail "health $(st_health $V) during resync, expected Aa"

# the source fails mid-resync
set_leg rsf_a error
run timeout 30 dd if=/dev/zero of=/dev/mapper/$V bs=4k count=1 seek=$((90 * 256)) oflag=direct status=none &&
	fail "a write succeeded with only the incomplete leg B working"
show_status $V
h=$(st_health $V)
[ "${h:0:1}" = A ] || fail "the source leg A was detached ($h) though leg B holds no complete copy"
dmesg_has "still being resynced from it" || fail "no kernel message about keeping the source"
# regions in sync (never written: 100..107 MiB) are read from leg B;
# regions not yet copied cannot be read from anywhere
must timeout 30 dd if=/dev/mapper/$V of=/dev/null bs=1M skip=100 count=8 iflag=direct status=none
cmp <(timeout 30 dd if=/dev/mapper/$V bs=1M skip=100 count=8 iflag=direct status=none) <(head -c $((8 * MIB)) /dev/zero) ||
	fail "in-sync data reads back wrong while the source is failing"
run timeout 30 dd if=/dev/mapper/$V of=/dev/null bs=1M skip=90 count=1 iflag=direct status=none &&
	fail "a region leg B does not hold yet was read while the source fails"

# the source is repaired: resume, finish, verify
set_leg rsf_a "linear /dev/ram0 0"
must dmsetup message $V 0 resync_rate 0
must dmsetup message $V 0 resume_resync
wait_sync $V 180
cmp <(dd if=/dev/mapper/$V bs=1M count=80 iflag=direct status=none) <(head -c $((80 * MIB)) expect) ||
	fail "acknowledged data lost"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
must dmsetup remove rsf_a
must dmsetup remove rsf_b
pass
