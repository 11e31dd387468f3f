#!/bin/bash
# Split brain across the link: the link drops, site A carries on with leg
# A alone and site B assembles leg B alone (--degraded), both write.  Site
# B fences its leg (no export) until site A has dropped the connection that
# still holds the writes abandoned at the link loss.  Then restoring or
# assembling the two legs is refused, naming both generations; "metroctl resolve --winner" (leg A) resyncs only the
# divergent regions from the winner, and both legs compare equal.
. "$(dirname "$0")/../lib.sh"
V=metro

net_up
if [ "$SITE" = B ]; then
	need_metro
	nvmet_export $LEG
	signal exported
	wait_for link-down 600
	nvmet_unexport
	must mc assemble --degraded $V $LEG
	wait_node /dev/mapper/$V
	randfile patB 4
	must write_file patB /dev/mapper/$V 16
	must mc stop $V
	signal b-alone
	# fencing: site A's transport still holds the writes dm-metro abandoned
	# when the link dropped, and would replay them into this leg; serve it
	# again only once site A dropped that connection
	wait_for a-disconnected 600
	must ln -s /sys/kernel/config/nvmet/subsystems/$NQN /sys/kernel/config/nvmet/ports/1/subsystems/$NQN
	signal exported-again
	wait_for done 600
	pass "site B carried on alone, then served its leg again"
fi

site_a_create $V
randfile base 24
must write_file base /dev/mapper/$V 0
# let the clearing pass empty the bitmaps: only what follows diverges
for i in $(seq 60); do [ "$(st_dirty $V)" = 0 ] && break; sleep 0.5; done
[ "$(st_dirty $V)" = 0 ] || fail "the bitmap still holds $(st_dirty $V) regions after 30 s"
host_do link off
randfile patA 4
must timeout 60 dd if=patA of=/dev/mapper/$V bs=1M oflag=direct conv=fsync status=none
[ "$(st_health $V)" = AD ] || fail "leg B not detached after the link dropped"
signal link-down
wait_for b-alone 600
host_do link on
# drop the old connection (its held writes fail) before site B serves its
# leg again, then connect anew
nvme_disconnect $NQN
signal a-disconnected
wait_for exported-again 120
nvme_connect
ga=$(own_gen $LEG) gb=$(own_gen $RLEG)
log "generations: leg A $ga, leg B $gb"
[ "$ga" != "$gb" ] || fail "both legs hold generation $ga after running apart"
out=$(mc restore $V B $RLEG 2>&1) && fail "restore accepted leg B, written independently"
echo "$out"
must mc stop $V
out=$(mc assemble $V $LEG $RLEG 2>&1) && fail "assemble succeeded on a split brain"
echo "$out"
grep -q "split brain" <<<"$out" || fail "assemble did not say split brain"
grep -q "$ga" <<<"$out" && grep -q "$gb" <<<"$out" || fail "assemble did not name both generations"
out=$(mc resolve $V --winner $LEG $RLEG 2>&1) || fail "resolve failed: $out"
echo "$out"
wait_node /dev/mapper/$V
# "the regions either leg wrote alone (W and L marked)": 4 MiB each
marks=$(sed -n 's/.*(\([0-9]*\) and \([0-9]*\) marked).*/\1+\2/p' <<<"$out")
[ -n "$marks" ] || fail "resolve did not say how many regions it copies"
oos=$((marks))
log "resolve: $marks regions marked"
[ "$oos" -ge 8 ] && [ "$oos" -le 10 ] || fail "$marks regions marked for the resolve (expected the 8 divergent ones)"
wait_sync $V 300
check_file patA /dev/mapper/$V 0 || fail "the winner's data is not on the volume"
cmp <(dd if=/dev/mapper/$V bs=1M skip=16 count=4 iflag=direct status=none) \
    <(dd if=base bs=1M skip=16 count=4 status=none) || fail "the loser's divergent write survived"
must mc stop $V
legs_identical $LEG $RLEG || fail "legs differ after resolve"
signal done
pass "split brain across the link refused, resolved copying $oos regions"
