#!/bin/bash
# Data survives metroctl stop + assemble, also with the legs given in
# swapped order; legs stay identical and the volume comes back AA.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=sa
must mc create $V $A $B --assume-clean --region-size 1M
wait_node /dev/mapper/$V
randfile pat 16
must write_file pat /dev/mapper/$V 2
fio_verify_write /dev/mapper/$V 40M 16M || fail "fio verify"
must mc stop $V
dmsetup info $V >/dev/null 2>&1 && fail "volume still exists after metroctl stop"
# a clean stop marks both superblocks clean and leaves no dirty bits
for L in $A $B; do
	fl=$(sb_u32 $L 100)
	[ $((fl & 1)) = 1 ] || fail "superblock of $L not marked CLEAN after stop (flags $fl)"
	d=$(examine_json $L | jq -r .dirty_regions)
	[ "$d" = 0 ] || fail "examine $L: dirty_regions=$d after a clean stop"
done
legs_identical $A $B || fail "legs differ after stop"

must mc assemble $V $A $B
wait_node /dev/mapper/$V
show_status $V
set -- $(dmsetup status $V)
[ "$5" = "$(devno $A)" ] && [ "$6" = "$(devno $B)" ] || fail "status legs $5 $6, expected $(devno $A) $(devno $B)"
[ "$7" = AA ] || fail "health $7 after assemble, expected AA"
check_file pat /dev/mapper/$V 2 || fail "data wrong after assemble"
fio --name=vv --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randwrite --bsrange=4k-64k \
	--offset=40M --size=16M --verify=crc32c --verify_only --output="$METRO_TMP/fio-vo.out" --verify_state_save=0 ||
	{ cat "$METRO_TMP/fio-vo.out"; fail "fio data wrong after assemble"; }
randfile pat2 4
must write_file pat2 /dev/mapper/$V 24
must mc stop $V

log "assemble with the legs in swapped order"
must mc assemble $V $B $A
wait_node /dev/mapper/$V
show_status $V
set -- $(dmsetup status $V)
[ "$5" = "$(devno $A)" ] && [ "$6" = "$(devno $B)" ] || fail "swapped assemble: leg A is $5, expected $(devno $A) (A=$A)"
[ "$7" = AA ] || fail "health $7 after swapped assemble"
wait_sync $V 30
check_file pat /dev/mapper/$V 2 || fail "data wrong after swapped assemble"
check_file pat2 /dev/mapper/$V 24 || fail "second file wrong after swapped assemble"
must mc stop $V
legs_identical $A $B || fail "legs differ at the end"
pass
