#!/bin/bash
# After a site loss the administrator must be able to stop the volume and
# assemble it again at the surviving site.  Site B's guest is killed under
# fio writes at site A; NVMe/TCP (ctrl_loss_tmo -1) then holds what was in
# flight on leg B for ever.  Leg B is detached on its deadline and the
# writes go on; "metroctl stop" must return within seconds (it used to
# hang in D state, the table waiting for the I/O abandoned on leg B), say
# that leg B's device still holds I/O, and "metroctl assemble --degraded"
# on leg A must bring the volume back with every acknowledged write.
. "$(dirname "$0")/../lib.sh"

net_up
if [ "$SITE" = B ]; then
	nvmet_export $LEG
	signal exported
	wait_for never 900	# site A has this guest killed
	fail "site B was not killed"
fi

V=metro
site_a_create $V
randfile base 8
must write_file base /dev/mapper/$V 0

fio_verify_write /dev/mapper/$V 16M 16M --runtime=15 --time_based \
	> "$METRO_TMP/fio-loss.log" 2>&1 &
fpid=$!
sleep 3
host_do kill B
t0=$SECONDS
for i in $(seq 300); do [ "$(st_health $V)" = AD ] && break; sleep 0.1; done
[ "$(st_health $V)" = AD ] || fail "leg B not detached $((SECONDS - t0))s after site B was lost"
log "leg B detached $((SECONDS - t0))s after site B was lost"
wait $fpid || { cat "$METRO_TMP/fio-loss.log"; fail "fio saw errors or wrong data with site B lost"; }
randfile p1 4
must write_file p1 /dev/mapper/$V 40
show_status $V
# what fio left, acknowledged: it must read back the same after reassembly
sum=$(dd if=/dev/mapper/$V bs=1M skip=16 count=16 iflag=direct status=none | md5sum)

# the stop, in the background: a process in D state cannot be killed, and
# the case must end and say so
"$METROCTL" stop $V > stop.out 2>&1 &
spid=$!
ts=$SECONDS
for i in $(seq 200); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
if kill -0 $spid 2>/dev/null; then
	echo "metroctl stop still running $((SECONDS - ts))s after it started: state $(awk '{print $3}' /proc/$spid/stat), kernel stack:"
	cat /proc/$spid/stack 2>/dev/null
	dmesg | tail -n 20
	fail "metroctl stop did not return within 20 s after site B was lost"
fi
wait $spid || fail "metroctl stop failed: $(cat stop.out)"
tstop=$((SECONDS - ts))
cat stop.out
log "metroctl stop returned in ${tstop}s"
[ -b /dev/mapper/$V ] && fail "/dev/mapper/$V still there after the stop"
if grep -q "abandoned" stop.out; then
	grep -q "leg B ($RLEG): [0-9]* I/Os\? abandoned" stop.out ||
		fail "metroctl stop spoke of abandoned I/O, but not of leg B's device $RLEG"
	log "(stop named leg B's held I/O)"
fi

must mc assemble --degraded $V $LEG
wait_node /dev/mapper/$V
[ "$(st_health $V)" = AD ] || fail "health $(st_health $V) after the degraded assembly"
check_file base /dev/mapper/$V 0 || fail "data written before the loss reads back wrong"
check_file p1 /dev/mapper/$V 40 || fail "data written after the loss reads back wrong"
[ "$(dd if=/dev/mapper/$V bs=1M skip=16 count=16 iflag=direct status=none | md5sum)" = "$sum" ] ||
	fail "what fio wrote across the loss reads back different after the reassembly"
must mc stop $V
pass "site B lost: stop returned in ${tstop}s, leg A assembled alone with every write"
