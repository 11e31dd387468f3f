#!/bin/bash
# Two sites, leg B at site B over NBD (the second transport; NBD has no
# timeout of its own).  Normal operation under fio with verify; the link
# drops while writes run: leg B is detached after the leg deadline and the
# writes complete on leg A; the link comes back, the NBD connection's held
# requests complete late, "metroctl restore" resyncs only the regions
# written meanwhile, and both legs compare equal.
. "$(dirname "$0")/../lib.sh"

net_up
command -v nbd-server >/dev/null && command -v nbd-client >/dev/null ||
	fail "nbd-server/nbd-client not installed (make deps)"
if [ "$SITE" = B ]; then
	cat > "$METRO_TMP/nbd.conf" <<EOC
[generic]
	listenaddr = $IP_B
	port = 10809
[legb]
	exportname = $LEG
EOC
	must nbd-server -C "$METRO_TMP/nbd.conf"
	signal exported
	wait_for done 600
	pkill -x nbd-server
	pass "site B served its leg over NBD"
fi

V=metro RLEG=/dev/nbd0
need_metro
wait_for exported
modprobe nbd nbds_max=2 2>/dev/null
[ -b $RLEG ] || fail "no NBD support in this kernel"
must nbd-client $IP_B 10809 $RLEG -N legb -b 4096
[ "$(blockdev --getsz $RLEG)" = "$(blockdev --getsz $LEG)" ] || fail "NBD device has the wrong size"
must mc create $V $LEG $RLEG --assume-clean --region-size 1M
wait_node /dev/mapper/$V

fio_verify_write /dev/mapper/$V 0 16M || fail "fio verify with both legs"
legs_identical $LEG $RLEG || fail "legs differ after normal operation"

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

# the link returns: TCP retransmits, NBD's held requests complete late
host_do link on
for i in $(seq 90); do
	timeout 5 dd if=$RLEG of=/dev/null bs=4k count=1 iflag=direct status=none && break
	sleep 1
done
timeout 5 dd if=$RLEG of=/dev/null bs=4k count=1 iflag=direct status=none ||
	fail "site B's leg did not answer over NBD after the link returned"
log "site B's leg answers again $((SECONDS - t0))s after the link dropped"
# a restore is refused while abandoned I/O is still out: retry a while
for i in $(seq 30); do
	mc restore $V B && break
	sleep 1
done
[ "$(st_health $V)" != AD ] || fail "metroctl restore did not take leg B back"
s=$(st_sync $V)
total=${s#*/} todo=$((${s#*/} - ${s%/*}))
log "restore: $todo of $total regions to resync"
[ "$todo" -gt 0 ] || fail "nothing to resync although writes ran while leg B was away"
[ "$todo" -le 24 ] || fail "$todo regions to resync: more than the 20 written while leg B was away"
wait_sync $V 300
check_file p1 /dev/mapper/$V 48 || fail "data written while leg B was away reads back wrong"
must mc stop $V
legs_identical $LEG $RLEG || fail "legs differ after the resync"
nbd-client -d $RLEG > /dev/null 2>&1
signal done
pass "NBD link loss: leg B detached in ${tdet}s, $todo of $total regions resynced"
