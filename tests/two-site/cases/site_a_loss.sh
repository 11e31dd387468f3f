#!/bin/bash
# Site A is lost (its guest killed).  A host at site B assembles the volume
# from leg B alone (--degraded) and carries on writing.  Site A returns and
# exports its leg to site B: assembled with both legs, leg A is recognised
# as stale and brought up to date from leg B, never the other way.
. "$(dirname "$0")/../lib.sh"
NQN_A=nqn.2026-12.org.dm-metro:site-a
V=metro

net_up
if [ "$SITE" = A ] && [ "$METRO_BOOT" = 1 ]; then
	site_a_create $V
	randfile base 8
	must write_file base /dev/mapper/$V 0
	must cp base "$METRO_SHARE/base"
	sync
	host_do kill A	# site A dies with the volume active
	sleep 600
	fail "site A was not killed"
fi
if [ "$SITE" = A ]; then
	# site A is back: it only exports its leg; site B decides
	nvmet_export $LEG $NQN_A $IP_A
	signal exported-a
	wait_for done 600
	pass "site A came back and served its (stale) leg"
fi

# site B
need_metro
nvmet_export $LEG
signal exported
wait_for killed-A 600
nvmet_unexport	# site B takes over its own leg
must mc assemble --degraded $V $LEG
wait_node /dev/mapper/$V
show_status $V
check_file "$METRO_SHARE/base" /dev/mapper/$V 0 || fail "site B does not hold what site A wrote"
randfile p2 4
must write_file p2 /dev/mapper/$V 20
fio_verify_write /dev/mapper/$V 32M 8M || fail "fio verify on leg B alone"
gen_b=$(own_gen $LEG)
must mc stop $V

host_do boot A
wait_for exported-a 300
nvme_connect $NQN_A $IP_A
AL=$RLEG
gen_a=$(own_gen $AL)
log "generations: leg A $gen_a, leg B $gen_b"
[ "$gen_a" != "$gen_b" ] || fail "leg B did not start a new generation when assembled alone"
# leg A named first, as at creation: leg B is still found to be the newer one
must mc assemble $V $AL $LEG
wait_node /dev/mapper/$V
show_status $V
[ "$(st_health $V)" != AA ] || [ "$(st_action $V)" != idle ] ||
	fail "leg A was not recognised as stale: $(dmsetup status $V)"
wait_sync $V 300
check_file p2 /dev/mapper/$V 20 || fail "what site B wrote alone was lost: leg A was copied over leg B"
check_file "$METRO_SHARE/base" /dev/mapper/$V 0 || fail "data wrong after the resync"
must mc stop $V
legs_identical $AL $LEG || fail "legs differ after the resync"
signal done
pass "site A lost: site B carried on alone, leg A resynced from leg B"
