#!/bin/bash
# Two sites, leg B at site B over NVMe/TCP.  Normal operation under fio
# with verify; then the inter-site link drops (qemu set_link off) while
# writes run: site A carries on after the leg deadline, with no I/O error;
# the link comes back, "metroctl restore" resyncs only the regions written
# meanwhile, and both legs compare equal.
. "$(dirname "$0")/../lib.sh"

net_up
[ "$SITE" = B ] && site_b_serve_leg

V=metro
site_a_create $V
show_status $V

# normal operation
fio_verify_write /dev/mapper/$V 0 16M || fail "fio verify with both legs"
grep -E 'write:' "$METRO_TMP/fio-vw.out"
legs_identical $LEG $RLEG || fail "legs differ after normal operation"

# the link drops during writes, then returns
link_loss_writes $V
link_back_restore $V
signal done
pass "link loss: leg B detached in ${TDET}s, $TODO of $TOTAL regions resynced"
