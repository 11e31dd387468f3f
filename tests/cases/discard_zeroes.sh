#!/bin/bash
# Discard and write-zeroes reach both legs when both support them.  The legs
# are virtio-blk disks, which advertise both.  Ranges span several regions
# (dm does not split these bios at region boundaries in 6.1) and start and
# end inside regions.  Field 12 of /sys/block/vdX/stat counts completed
# discards (Documentation/admin-guide/iostats.rst).
# metro-disks: 2
. "$(dirname "$0")/lib.sh"
need_metro

A=$(scratch_disk 0) && B=$(scratch_disk 1) || skip "no scratch virtio disks (run via tests/vm/run.sh)"
# the scratch disks are shared by the cases of one boot: start from blank
for L in $A $B; do must dd if=/dev/zero of=$L bs=1M count=1 oflag=direct status=none; done
for L in $A $B; do
	q=/sys/block/$(blk_name $L)/queue
	[ "$(cat $q/discard_max_bytes)" -gt 0 ] || skip "$L does not support discard"
	[ "$(cat $q/write_zeroes_max_bytes)" -gt 0 ] || skip "$L does not support write zeroes"
done
V=dz
must mc create $V $A $B --region-size 1M --assume-clean
wait_node /dev/mapper/$V
q=/sys/block/$(blk_name /dev/mapper/$V)/queue
log "volume: discard_max_bytes $(cat $q/discard_max_bytes), write_zeroes_max_bytes $(cat $q/write_zeroes_max_bytes)"
[ "$(cat $q/discard_max_bytes)" -gt 0 ] || fail "the volume does not pass discard through"
[ "$(cat $q/write_zeroes_max_bytes)" -gt 0 ] || fail "the volume does not pass write zeroes through"

# 16 MiB of random data, then zero 1.5 MiB .. 6.5 MiB (six regions, partial
# at both ends) and check zeroes there, the data around it, both legs equal.
randfile data 16
must write_file data /dev/mapper/$V 0
must blkdiscard -z -o $((3 * MIB / 2)) -l $((5 * MIB)) /dev/mapper/$V
head -c $((3 * MIB / 2)) data > expect
head -c $((5 * MIB)) /dev/zero >> expect
tail -c +$((13 * MIB / 2 + 1)) data >> expect
check_file expect /dev/mapper/$V 0 || fail "write zeroes: the volume does not read back zeroes in the range and the data around it"
[ "$(st_health $V)" = AA ] || fail "health $(st_health $V) after write zeroes"
legs_identical $A $B || fail "legs differ after write zeroes"

# Discard 8 MiB .. 12.25 MiB: both legs must have been sent a discard.
da=$(blk_stat $A 12) db=$(blk_stat $B 12)
must blkdiscard -o $((8 * MIB)) -l $((17 * MIB / 4)) /dev/mapper/$V
da2=$(blk_stat $A 12) db2=$(blk_stat $B 12)
log "discards completed: leg A +$((da2 - da)), leg B +$((db2 - db))"
[ $((da2 - da)) -ge 1 ] && [ $((db2 - db)) -ge 1 ] || fail "the discard did not reach both legs"
[ "$(st_health $V)" = AA ] || fail "health $(st_health $V) after discard"
# Data outside the discarded range is untouched.
head -c $((8 * MIB)) expect > before
check_file before /dev/mapper/$V 0 || fail "data before the discarded range changed"
tail -c +$((49 * MIB / 4 + 1)) data > after
cmp <(dd if=/dev/mapper/$V iflag=direct,skip_bytes,count_bytes bs=1M skip=$((49 * MIB / 4)) \
	count=$((15 * MIB / 4)) status=none) after || fail "data after the discarded range changed"
show_status $V
must mc stop $V
# The scratch disks are shared with later cases: leave no superblock behind.
for L in $A $B; do must dd if=/dev/zero of=$L bs=1M count=1 oflag=direct status=none; done
pass "write zeroes and discard reached both legs"
