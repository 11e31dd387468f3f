#!/bin/bash
# A leg whose device still holds writes that the volume abandoned on its
# I/O deadline cannot be restored until the device has returned them: a
# transport that reconnects replays what it held, and a write landing after
# the resync copied its region would leave the legs different where the
# bitmap says they are equal.  Leg B is a dm-delay holding writes for 12 s
# (reads go straight through, so metroctl can read its superblock).
. "$(dirname "$0")/lib.sh"
need_metro

V=lw
sz=$(blockdev --getsz /dev/ram1)
must dmsetup create lw_b --table "0 $sz delay /dev/ram1 0 0 /dev/ram1 0 0"
wait_node /dev/mapper/lw_b
A=/dev/ram0 B=/dev/mapper/lw_b
must mc create $V $A $B --assume-clean --region-size 1M
wait_node /dev/mapper/$V
metro_opts $V "2 io_deadline 1000"
randfile base 8
must write_file base /dev/mapper/$V 0

# from now on leg B holds every write for 12 s
reload lw_b "0 $sz delay /dev/ram1 0 0 /dev/ram1 0 12000"
randfile p1 2
t0=$SECONDS
must write_file p1 /dev/mapper/$V 20
log "write took $((SECONDS - t0))s with leg B holding writes"
[ "$(st_health $V)" = AD ] || fail "leg B not detached by its held write: $(st_health $V)"

dmesg -C
out=$(mc restore $V B 2>&1) && fail "restore accepted leg B while it still held abandoned writes: $out"
echo "$out"
dmesg_has "still holds .* writes that the table of $V abandoned" ||
	fail "the kernel log does not say why the table was refused: $(dmesg | tail -5)"
[ "$(st_health $V)" = AD ] || fail "the refused restore changed the volume: $(dmsetup status $V)"
check_file p1 /dev/mapper/$V 20 || fail "data wrong after the refused restore"

# once the held writes are back (12 s after they were sent), with leg B
# writing normally again, the restore goes through
while [ $((SECONDS - t0)) -lt 14 ]; do sleep 1; done
reload lw_b "0 $sz delay /dev/ram1 0 0 /dev/ram1 0 0"
must mc restore $V B
log "restore accepted $((SECONDS - t0))s after the write began"
wait_sync $V 120
check_file base /dev/mapper/$V 0 || fail "data wrong after the resync"
check_file p1 /dev/mapper/$V 20 || fail "data wrong after the resync"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
must dmsetup remove lw_b
pass
