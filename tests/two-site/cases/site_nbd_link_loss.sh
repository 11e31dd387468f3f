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

# the link drops during writes, then returns
link_loss_writes $V
link_back_restore $V
nbd-client -d $RLEG > /dev/null 2>&1
signal done
pass "NBD link loss: leg B detached in ${TDET}s, $TODO of $TOTAL regions resynced"
