#!/bin/bash
# Both legs carried on alone (each site assembled its leg with --degraded
# and wrote): assembly refuses in either order, naming both generations,
# and so does the kernel; `metroctl resolve --winner` keeps the winner's
# data and resyncs only the regions either leg wrote alone.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=sb

must mc create $V $A $B --assume-clean
wait_node /dev/mapper/$V
randfile base 48
must write_file base /dev/mapper/$V 0
must mc stop $V

split() {
	must mc assemble --degraded $V $A
	wait_node /dev/mapper/$V
	must write_file patA /dev/mapper/$V 0
	must mc stop $V
	must mc assemble --degraded $V $B
	wait_node /dev/mapper/$V
	must write_file patB /dev/mapper/$V 16
	must mc stop $V
}
randfile patA 4
randfile patB 4
split
ga=$(own_gen $A) gb=$(own_gen $B)
[ "$ga" != "$gb" ] || fail "both legs hold generation $ga after running apart"

for order in "$A $B" "$B $A"; do
	out=$(mc assemble $V $order 2>&1) && fail "assemble $order succeeded on a split brain"
	echo "$out"
	grep -q "split brain" <<<"$out" || fail "assemble did not say split brain"
	grep -q "$ga" <<<"$out" && grep -q "$gb" <<<"$out" || fail "assemble did not name both generations"
	dmsetup info $V >/dev/null 2>&1 && fail "a device was left behind by the refused assemble"
done
sz=$(data_size $A)
run dmsetup create ${V}x --table "0 $sz metro $A $B" && fail "the kernel activated a split brain"
dmesg | tail -5 | grep -q "split brain" || fail "no split brain message in the kernel log"
# restoring the other site into a running leg is refused too
must mc assemble --degraded $V $A
run mc restore $V B $B && fail "restore accepted a leg written independently"
must mc stop $V
[ "$(own_gen $A)" = "$ga" ] && [ "$(own_gen $B)" = "$gb" ] || fail "refused commands changed the generations"

run mc resolve $V && fail "resolve without --winner succeeded"
# leg B wins; leg A's divergent region is overwritten from B
out=$(mc resolve $V --winner $B $A 2>&1) || fail "resolve failed: $out"
echo "$out"
wait_node /dev/mapper/$V
show_status $V
oos=$(last_oos $V)
[ "${oos:-0}" -ge 1 ] && [ "$oos" -le 4 ] || fail "${oos:-no} regions to resync after resolve (expected the 2 divergent ones)"
wait_sync $V 120
check_file patB /dev/mapper/$V 16 || fail "the winner's data is not on the volume"
cmp <(dd if=/dev/mapper/$V bs=1M count=4 iflag=direct status=none) <(head -c $((4 * MIB)) base) ||
	fail "the loser's divergent write survived the resolve"
must mc stop $V
legs_identical $A $B || fail "legs differ after resolve"
[ "$(own_gen $A)" = "$(own_gen $B)" ] || fail "legs hold different generations after the resync"

# again, with new data, leg A wins, the other leg found by scanning
must mc assemble $V $A $B
wait_node /dev/mapper/$V
dd if=/dev/mapper/$V of=before bs=1M count=48 iflag=direct status=none || fail "cannot read the volume"
must mc stop $V
randfile patA 4
randfile patB 4
split
run mc resolve $V --winner $A /dev/ram5 && fail "resolve accepted a device that is not the other leg"
out=$(mc resolve $V --winner $A 2>&1) || fail "resolve (scanning for leg B) failed: $out"
echo "$out"
wait_node /dev/mapper/$V
wait_sync $V 120
check_file patA /dev/mapper/$V 0 || fail "leg A's data lost though it won"
cmp <(dd if=/dev/mapper/$V bs=1M skip=16 count=4 iflag=direct status=none) <(dd if=before bs=1M skip=16 count=4 status=none) ||
	fail "leg B's divergent write survived"
must mc stop $V
legs_identical $A $B || fail "legs differ after the second resolve"
run mc resolve $V --winner $A $B && fail "resolve succeeded with no split brain"
pass
