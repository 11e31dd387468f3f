#!/bin/bash
# Random data written through the volume (dd O_DIRECT and fio with verify)
# is byte-identical on both legs at data_offset and reads back correctly.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=wbl
must mc create $V $A $B --assume-clean
wait_node /dev/mapper/$V
show_status $V
[ "$(st_health $V)" = AA ] || fail "new --assume-clean volume is not AA"

off=$(data_offset $A) size=$(data_size $A)
log "data_offset $off sectors, data_size $size sectors"
[ "$(data_offset $B)" = "$off" ] || fail "legs have different data offsets"
[ "$(blockdev --getsz /dev/mapper/$V)" = "$size" ] || fail "volume size $(blockdev --getsz /dev/mapper/$V) != data_size $size"
ex=$(examine_json $A) || fail "metroctl examine --json $A failed"
log "examine: $ex"
[ "$(jq -r .data_offset_sectors <<<"$ex")" = "$off" ] || fail "examine data_offset_sectors disagrees with the superblock ($off)"
[ "$(jq -r .data_size_sectors <<<"$ex")" = "$size" ] || fail "examine data_size_sectors disagrees with the superblock ($size)"
[ "$(jq -r .name <<<"$ex")" = "$V" ] || fail "examine name is not $V"

# 1. a 16 MiB random file with dd O_DIRECT at 8 MiB
randfile pat 16
must write_file pat /dev/mapper/$V 8
check_file pat /dev/mapper/$V 8 || fail "data read back through the volume differs"
# the same bytes sit on each leg at data_offset + 8 MiB
for L in $A $B; do
	cmp pat <(dd if=$L iflag=direct,skip_bytes,count_bytes bs=1M skip=$((off * 512 + 8 * MIB)) count=$((16 * MIB)) status=none) ||
		fail "leg $L does not hold the data at data_offset + 8 MiB"
done
log "dd data on both legs at data_offset"

# 2. unaligned-size small writes (4 KiB, odd offsets), the last region
randfile small 1
must dd if=small of=/dev/mapper/$V bs=4k seek=12345 count=7 oflag=direct conv=notrunc status=none
must dd if=small of=/dev/mapper/$V bs=4k seek=$((size / 8 - 3)) count=3 oflag=direct conv=notrunc status=none
cmp <(head -c 28672 small) <(dd if=/dev/mapper/$V iflag=direct bs=4k skip=12345 count=7 status=none) || fail "4k writes read back wrong"
cmp <(head -c 12288 small) <(dd if=/dev/mapper/$V iflag=direct bs=4k skip=$((size / 8 - 3)) count=3 status=none) || fail "writes at the end read back wrong"

# 3. fio random writes with verification, two areas
fio_verify_write /dev/mapper/$V 32M 32M || fail "fio verify (32M..64M)"
fio_verify_write /dev/mapper/$V 80M 8M --numjobs=2 --offset_increment=8M || fail "fio verify, 2 jobs (80M..96M)"

# 4. the whole data area is identical on both legs
legs_identical $A $B || fail "legs differ after writes"
check_file pat /dev/mapper/$V 8 || fail "first file changed"
show_status $V
[ "$(st_health $V)" = AA ] || fail "health is not AA"
must mc stop $V
pass
