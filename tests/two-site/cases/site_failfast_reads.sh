#!/bin/bash
# Two sites, leg B at site B over NVMe/TCP, reads straight into the
# reader's pages (read_mode direct) and failfast B; write_mostly A makes
# every read go to leg B.  The link drops (qemu set_link off) under a read
# load: the reads in flight on leg B fail as soon as NVMe/TCP notices the
# loss (keep-alive), leg B is detached and leg A serves them, so the load
# ends on time with no error while the link is still down.  Without
# failfast those reads would wait for the link to return (ctrl_loss_tmo
# -1).  Then 4 MiB is written with leg B away, the link comes back,
# "metroctl restore" resyncs only that, and both legs compare equal.
. "$(dirname "$0")/../lib.sh"

net_up
[ "$SITE" = B ] && site_b_serve_leg

V=metro ff=${METRO_FAILFAST:-B}
site_a_create $V
must mc set $V --read-mode direct --write-mostly A --failfast "$ff"
show_status $V
randfile base 16
must write_file base /dev/mapper/$V 0

rb0=$(st_reads_b $V)
timeout 120 fio --name=ffr --filename=/dev/mapper/$V --ioengine=libaio --direct=1 \
	--rw=randread --bs=64k --iodepth=4 --size=16M --runtime=25 --time_based \
	--output="$METRO_TMP/fio-ffr.out" &
fpid=$!
sleep 3
[ "$(st_reads_b $V)" -gt "$rb0" ] || fail "the reads do not go to leg B: the check proves nothing"
host_do link off
T0=$SECONDS
for i in $(seq 600); do [ "$(st_health $V)" = AD ] && break; sleep 0.1; done
TDET=$((SECONDS - T0))
[ "$(st_health $V)" = AD ] || fail "leg B not detached ${TDET}s after the link dropped"
log "leg B detached ${TDET}s after the link dropped"
wait $fpid
r=$?
TEND=$((SECONDS - T0))
[ $r = 124 ] && fail "reads in flight on leg B still waited ${TEND}s after the link dropped (fio killed)"
[ $r = 0 ] || { cat "$METRO_TMP/fio-ffr.out"; fail "fio saw a read error across the link loss"; }
grep -E 'read:|clat.*max|lat \(' "$METRO_TMP/fio-ffr.out" | head -n 4
log "the read load ended ${TEND}s after the link dropped, the link still down"
dmesg_has "retrying on leg A" && log "a read held on leg B was retried on leg A"
check_file base /dev/mapper/$V 0 || fail "data read back wrong with leg B away"

randfile p1 4
must write_file p1 /dev/mapper/$V 48
link_back_restore $V
signal done
pass "failfast B: leg B detached ${TDET}s after the link dropped; $TODO of $TOTAL regions resynced"
