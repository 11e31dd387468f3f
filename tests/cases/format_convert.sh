#!/bin/bash
# Run: tests/vm/run.sh format_convert
# metroctl convert on a stopped volume: format 1 (single host) to 2
# (clustered) and back.  The data stay as they were, the data offset does
# not move, and no dirty bit is lost: bits in the version 1 bitmap become
# slot 0, bits of other slots are OR-ed back into the one bitmap, and the
# next activation resyncs them.  Refused on an active volume, a leg held
# by another device and a stale leg; a pair cut short between its two
# superblock writes is refused by assemble and finished by convert.  The
# clustered volume is never assembled (that needs corosync and the DLM).
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=fc
# set_byte DEV SECTOR BYTE VALUE: write one byte of a bitmap (as a crash leaves it)
set_byte() {
	printf "\\x$(printf %02x "$4")" |
		dd of="$1" bs=1 seek=$(($2 * 512 + $3)) conv=notrunc,fsync status=none ||
		fail "cannot write a bitmap byte of $1"
}
slot_dirty() { examine_json "$1" | jq -r ".cluster.slots[$2].dirty_regions"; }

must mc create $V $A $B --assume-clean --region-size 1M
wait_node /dev/mapper/$V
randfile pat 32
must write_file pat /dev/mapper/$V 8
sum=$(md5sum < /dev/mapper/$V | cut -d' ' -f1)
doff=$(data_offset $A)
log "volume checksum $sum, data offset $doff"

log "refused while active"
out=$("$METROCTL" convert $A $B --cluster metro-t 2>&1) && fail "convert of an active volume accepted"
echo "$out"
grep -q "is active as /dev/mapper/$V" <<<"$out" || fail "convert of an active volume: no 'is active' message"
[ "$(sb_u32 $A 4)" = 1 ] || fail "the refused convert changed leg A's version"
must mc stop $V

log "refused while a leg is held"
must dmsetup create fc_hold --table "0 8 linear $B 0"
out=$("$METROCTL" convert $A $B --cluster metro-t 2>&1) && fail "convert with a held leg accepted"
echo "$out"
grep -q "$B is in use" <<<"$out" || fail "convert with a held leg: no 'in use' message"
must dmsetup remove fc_hold

# Dirty bits a crash would leave: regions 0..3 on leg A, region 9 on leg B.
set_byte $A 16 0 0x0f
set_byte $B 16 1 0x02
[ "$(examine_json $A | jq -r .dirty_regions)" = 4 ] || fail "setup: leg A does not show 4 dirty regions"

log "1 -> 2: dry run, then for real"
before=$(sb_raw $A | md5sum)
must mc convert $A $B --cluster metro-t --nodes 3 --dry-run
[ "$(sb_raw $A | md5sum)" = "$before" ] || fail "--dry-run changed leg A's superblock"
cp_b=$METRO_TMP/sb-b-v1
sb_raw $B > "$cp_b"
must mc convert $B $A --cluster metro-t --nodes 3
must mc examine $A
for L in $A $B; do
	j=$(examine_json $L)
	jq -e '.version == 2 and .cluster.name == "metro-t" and .cluster.nr_slots == 3 and
		(.cluster.slots | length) == 3' <<<"$j" >/dev/null || fail "examine $L after convert: $j"
	[ "$(data_offset $L)" = "$doff" ] || fail "the data offset of $L moved"
	"$METROCTL" examine --export $L | grep -qx "METRO_SLOTS=3" || fail "examine --export $L: no METRO_SLOTS=3"
done
[ "$(slot_dirty $A 0)" = 4 ] && [ "$(slot_dirty $A 1)" = 0 ] && [ "$(slot_dirty $A 2)" = 0 ] ||
	fail "leg A's slots after 1 -> 2: $(examine_json $A | jq -c .cluster.slots)"
[ "$(slot_dirty $B 0)" = 1 ] || fail "leg B's slot 0 lost its bit: $(examine_json $B | jq -c .cluster.slots)"

log "cut short: leg B's version 1 superblock back, as if the crash came before its write"
dd if="$cp_b" of=$B bs=4096 seek=1 count=1 oflag=direct conv=notrunc status=none || fail "dd"
[ "$(sb_u32 $B 4)" = 1 ] && [ "$(sb_u32 $A 4)" = 2 ] || fail "setup of the half-converted pair"
out=$("$METROCTL" assemble $V $A $B 2>&1) && fail "assemble of a half-converted pair accepted"
echo "$out"
grep -q "cut short" <<<"$out" || fail "assemble of a half-converted pair does not say so"
out=$("$METROCTL" convert $A $B --cluster metro-t --nodes 3) || fail "convert did not finish the pair"
echo "$out"
grep -q "leg A $A: already in format 2" <<<"$out" || fail "convert rewrote the converted leg A"
[ "$(sb_u32 $B 4)" = 2 ] || fail "leg B still version 1 after the second convert"
[ "$(slot_dirty $B 0)" = 1 ] || fail "leg B's slot 0 lost its bit in the second convert"

log "a cluster node's bits in slots 1 and 2 (regions 16 and 25)"
set_byte $A 24 2 0x01
set_byte $B 32 3 0x02
[ "$(examine_json $A | jq -r .dirty_regions)" = 5 ] || fail "leg A: the union of the slots is not 5"
[ "$(slot_dirty $B 2)" = 1 ] || fail "leg B: slot 2 does not show its bit"

log "2 -> 1: the slots OR-ed into the bitmap"
must mc convert $A $B --single-host
must mc examine $B
for L in $A $B; do
	j=$(examine_json $L)
	jq -e '.version == 1 and (has("cluster") | not)' <<<"$j" >/dev/null || fail "examine $L after 2 -> 1: $j"
	[ "$(sb_u32 $L 108)" = 0 ] || fail "$L: slot count left in a version 1 superblock"
done
for r in 0 1 2 3 16; do [ "$(bm_bit $A $r)" = 1 ] || fail "leg A lost region $r"; done
for r in 9 25; do [ "$(bm_bit $B $r)" = 1 ] || fail "leg B lost region $r"; done
[ "$(examine_json $A | jq -r .dirty_regions)" = 5 ] && [ "$(examine_json $B | jq -r .dirty_regions)" = 2 ] ||
	fail "dirty regions after 2 -> 1: A $(examine_json $A | jq -r .dirty_regions), B $(examine_json $B | jq -r .dirty_regions)"

log "assemble: the union is resynced, the data as before"
must mc assemble $V $A $B
wait_node /dev/mapper/$V
n=$(last_oos $V)
[ "$n" = 7 ] || fail "activation resynced $n regions, expected the 7 marked (0-3, 9, 16, 25)"
wait_sync $V 60
[ "$(md5sum < /dev/mapper/$V | cut -d' ' -f1)" = "$sum" ] || fail "volume checksum changed"
check_file pat /dev/mapper/$V 8 || fail "data wrong after the conversions"
must mc stop $V
legs_identical $A $B || fail "legs differ"
[ "$(examine_json $A | jq -r .dirty_regions)" = 0 ] || fail "dirty bits left after the resync and a clean stop"

log "a leg still being resynced is refused"
must mc create st /dev/ram2 /dev/ram3 --region-size 1M --resync-rate 1024
wait_node /dev/mapper/st
must mc stop st
out=$("$METROCTL" convert /dev/ram2 /dev/ram3 --cluster metro-t 2>&1) && fail "convert of a stale pair accepted"
echo "$out"
grep -q "leg B is stale (being resynced)" <<<"$out" || fail "convert of a stale pair: no 'stale' message"
[ "$(sb_u32 /dev/ram3 4)" = 1 ] || fail "the refused convert changed leg B's version"
pass
