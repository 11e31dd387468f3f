#!/bin/bash
# A stalled leg (its dm-linear suspended with --noflush: bios are held, not
# failed) is detached after the io_deadline, the volume carries on on the
# other leg without waiting for the stall to end, and the held bios, once
# released, complete late without harm.  The same for a stall hitting a
# metadata write (the first write into a clean region).  Then the leg is
# restored and resynced, a stalled read is shown not to write into the
# reader's memory when it completes late, and the legs are compared.  Both
# legs are local (ramdisks), so read_mode bounce is asked for: read_mode
# auto would read them without bounce pages (read_mode_auto.sh).
. "$(dirname "$0")/lib.sh"
need_metro

V=ls
A=/dev/ram0 B=/dev/mapper/ls_b
linear_leg ls_b /dev/ram1
new_volume $V $A $B --region-size 1M
metro_opts $V "4 io_deadline 1000 read_mode bounce"
dmsetup table $V | grep -q "io_deadline 1000 read_mode bounce" || fail "io_deadline not in the table: $(dmsetup table $V)"
randfile base 32
must write_file base /dev/mapper/$V 0

# 1. data bios stall on leg B during writes and reads
fio --name=st --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randrw \
	--bs=4k --iodepth=8 --offset=40M --size=32M --runtime=8 --time_based \
	--output="$METRO_TMP/fio.out" &
fpid=$!
sleep 2
must dmsetup suspend --noflush ls_b
t0=$SECONDS
for i in $(seq 100); do [ "$(st_health $V)" = AD ] && break; sleep 0.1; done
[ "$(st_health $V)" = AD ] || fail "leg B not detached $((SECONDS - t0))s into the stall"
log "leg B detached $((SECONDS - t0))s into the stall"
wait $fpid || { cat "$METRO_TMP/fio.out"; fail "fio saw errors or hung while leg B stalled"; }
grep -E 'read:|write:' "$METRO_TMP/fio.out"
# a bitmap write (fio's first write into a clean region) may stall first:
# the metadata deadline then detaches the leg
dmesg | grep -Eq "I/O deadline|did not complete within" || fail "the kernel log does not name the I/O deadline"
check_file base /dev/mapper/$V 0 || fail "data reads back wrong while leg B is stalled"
# the held bios complete late now
must dmsetup resume ls_b
sleep 1
[ "$(st_health $V)" = AD ] || fail "health changed after the late completions: $(st_health $V)"
fio_verify_write /dev/mapper/$V 80M 16M || fail "fio verify on leg A alone"
must mc stop $V

# 2. a metadata write stalls: the first write into a clean region
must mc assemble $V $A $B
wait_node /dev/mapper/$V
metro_opts $V "4 io_deadline 1000 read_mode bounce"
wait_sync $V 60
sleep 6	# the clearing pass empties the bitmap
[ "$(st_dirty $V)" = 0 ] || log "dirty regions: $(st_dirty $V)"
must dmsetup suspend --noflush ls_b
randfile p2 1
t0=$SECONDS
must timeout 20 dd if=p2 of=/dev/mapper/$V bs=1M seek=100 oflag=direct conv=fsync status=none
log "write into a clean region took $((SECONDS - t0))s with leg B stalled"
[ $((SECONDS - t0)) -le 8 ] || fail "the write waited $((SECONDS - t0))s for the stalled leg"
[ "$(st_health $V)" = AD ] || fail "leg B not detached by the stalled metadata write"
dmesg_has "did not complete within 1000 ms" || log "(the data clone hit the deadline first)"
must dmsetup resume ls_b
check_file p2 /dev/mapper/$V 100 || fail "data written during the metadata stall reads back wrong"

# 3. back: restore, resync, compare
must mc restore $V B
wait_sync $V 120
check_file base /dev/mapper/$V 0 || fail "data wrong after the resync"
check_file p2 /dev/mapper/$V 100 || fail "data wrong after the resync"

# 4. a read abandoned on the stalled leg, completed by it later, must not
# land in the memory the reader got back with the retried read's data
[ -x "$TOOLS/late_read" ] || fail "$TOOLS/late_read not built: run 'make tools' on the host"
# write_mostly A sends every read to leg B first: left to the balancer, a
# leg B measured slower than leg A gets a read only once a second, and the
# reads of the check above may have used that chance (it failed CI once)
metro_opts $V "6 io_deadline 1000 write_mostly A read_mode bounce"
must dmsetup suspend --noflush ls_b
late_read_start /dev/mapper/$V "late_read did not finish its reads"
must dmsetup resume ls_b	# the held read completes now
late_read_finish
[ "$(st_health $V)" = AD ] || fail "leg B not detached by the stalled read"
must mc restore $V B
wait_sync $V 120
check_file base /dev/mapper/$V 0 || fail "data wrong after the second resync"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
must dmsetup remove ls_b
pass
