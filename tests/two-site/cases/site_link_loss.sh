#!/bin/bash
# Two sites, leg B at site B over NVMe/TCP.  Normal operation under fio
# with verify; then the inter-site link drops (qemu set_link off) while
# writes run: site A carries on after the leg deadline, with no I/O error;
# the link comes back, "metroctl restore" resyncs only the regions written
# meanwhile, and both legs compare equal.
. "$(dirname "$0")/../lib.sh"

net_up
if [ "$SITE" = B ]; then
	nvmet_export $LEG
	signal exported
	wait_for done 600
	pass "site B served its leg"
fi

V=metro
site_a_create $V
show_status $V

# normal operation
fio_verify_write /dev/mapper/$V 0 16M || fail "fio verify with both legs"
grep -E 'write:' "$METRO_TMP/fio-vw.out"
legs_identical $LEG $RLEG || fail "legs differ after normal operation"

# the link drops during writes
fio_verify_write /dev/mapper/$V 24M 16M --runtime=20 --time_based --verify_backlog=256 \
	> "$METRO_TMP/fio-loss.log" 2>&1 &
fpid=$!
sleep 3
host_do link off
t0=$SECONDS
for i in $(seq 300); do [ "$(st_health $V)" = AD ] && break; sleep 0.1; done
tdet=$((SECONDS - t0))
[ "$(st_health $V)" = AD ] || fail "leg B not detached ${tdet}s after the link dropped"
log "leg B detached ${tdet}s after the link dropped (io_deadline 5 s)"
randfile p1 4
must write_file p1 /dev/mapper/$V 48
wait $fpid || { cat "$METRO_TMP/fio-loss.log"; fail "fio saw an error or a verify mismatch across the link loss"; }
grep -E 'write:' "$METRO_TMP/fio-vw.out"

# the link returns: the transport reconnects, the leg is restored
host_do link on
for i in $(seq 60); do
	timeout 5 dd if=$RLEG of=/dev/null bs=4k count=1 iflag=direct status=none && break
	sleep 1
done
timeout 5 dd if=$RLEG of=/dev/null bs=4k count=1 iflag=direct status=none ||
	fail "site B's leg did not come back after the link returned"
log "site B's leg answers again $((SECONDS - t0))s after the link dropped"
must mc restore $V B
s=$(st_sync $V)
total=${s#*/} todo=$((${s#*/} - ${s%/*}))
log "restore: $todo of $total regions to resync"
[ "$todo" -gt 0 ] || fail "nothing to resync although writes ran while leg B was away"
[ "$todo" -le 24 ] || fail "$todo regions to resync: more than the 20 written while leg B was away"
wait_sync $V 300
check_file p1 /dev/mapper/$V 48 || fail "data written while leg B was away reads back wrong"
must mc stop $V
legs_identical $LEG $RLEG || fail "legs differ after the resync"
signal done
pass "link loss: leg B detached in ${tdet}s, $todo of $total regions resynced"
