#!/bin/bash
# The write-intent bitmap: a write's region bit is on disk on both legs by
# the time the write completes; quiet regions are cleared after clear_delay;
# a hot region costs no metadata writes; a clean stop leaves no bits set.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=wi
must mc create $V $A $B --assume-clean --region-size 1M
must mc stop $V
size=$(data_size $A)
must dmsetup create $V --table "0 $size metro $A $B 2 clear_delay 2000"
wait_node /dev/mapper/$V
show_status $V
# bit N of the on-disk bitmap (sector 16) of a leg, read with O_DIRECT
bit() {
	local byte
	byte=$(dd if="$1" iflag=direct,skip_bytes,count_bytes bs=4096 skip=$((16 * 512)) count=4096 status=none |
		od -An -t u1 -j $(($2 / 8)) -N 1 | tr -d ' ')
	echo $(((byte >> ($2 % 8)) & 1))
}
sleep 2
[ "$(st_dirty $V)" = 0 ] || fail "dirty regions on an idle fresh volume: $(st_dirty $V)"
for r in 5 17 60; do
	[ "$(bit $A $r)" = 0 ] && [ "$(bit $B $r)" = 0 ] || fail "bit $r set before any write"
done
md0=$(st_mdwrites $V)
for r in 5 17 60; do
	must dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=1 seek=$((r * 256 + 3)) oflag=direct status=none
	a=$(bit $A $r) b=$(bit $B $r)
	log "after a write into region $r: on-disk bit A=$a B=$b, status: $(dmsetup status $V)"
	[ "$a" = 1 ] && [ "$b" = 1 ] || fail "the bit of region $r is not on both legs' disks when the write has completed"
	[ "$(st_dirty $V)" -ge 1 ] || fail "status shows no dirty region right after a write"
done
[ "$(st_mdwrites $V)" -gt "$md0" ] || fail "md_writes did not grow when regions were marked"
# quiet regions are cleared within a few clear_delay periods
for i in $(seq 60); do [ "$(st_dirty $V)" = 0 ] && break; sleep 0.25; done
show_status $V
[ "$(st_dirty $V)" = 0 ] || fail "dirty regions not cleared 15 s after the writes (clear_delay 2000 ms)"
for r in 5 17 60; do
	[ "$(bit $A $r)" = 0 ] && [ "$(bit $B $r)" = 0 ] || fail "bit $r still set on disk after clearing"
done
# a hot region: after its first mark, no metadata writes while it stays hot
must dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=1 seek=$((40 * 256)) oflag=direct status=none
md1=$(st_mdwrites $V)
end=$((SECONDS + 3))
n=0
while [ $SECONDS -lt $end ]; do
	dd if=/dev/zero of=/dev/mapper/$V bs=4k count=1 seek=$((40 * 256 + n % 200)) oflag=direct status=none || fail "write failed"
	n=$((n + 1))
done
md2=$(st_mdwrites $V)
log "$n writes into a hot region over 3 s: md_writes $md1 -> $md2"
[ $((md2 - md1)) -le 2 ] || fail "a hot region caused $((md2 - md1)) metadata writes (expected none in steady state)"
# clean stop: CLEAN flag and an empty bitmap on both legs
must dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=1 seek=$((90 * 256)) oflag=direct status=none
must dmsetup remove $V
for L in $A $B; do
	[ $(($(sb_u32 $L 100) & 1)) = 1 ] || fail "$L not marked CLEAN after removal"
	[ "$(bit $L 90)" = 0 ] || fail "$L: bit of a quiet region still set after a clean stop"
done
pass
