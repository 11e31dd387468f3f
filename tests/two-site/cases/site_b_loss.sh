#!/bin/bash
# Site B is lost (its guest killed) while site A writes: site A carries on
# after the leg deadline.  Site B comes back with a new, blank disk
# exported under a new name; "metroctl replace" puts it in with a full
# sync, and both legs compare equal.
. "$(dirname "$0")/../lib.sh"
NQN2=$NQN-new

net_up
if [ "$SITE" = B ]; then
	if [ "$METRO_BOOT" = 1 ]; then
		nvmet_export $LEG
		signal exported
		wait_for never 900	# site A has this guest killed
		fail "site B was not killed"
	fi
	nvmet_export $LEG $NQN2
	signal exported-new
	wait_for done 600
	pass "the new site B served its blank leg"
fi

V=metro
site_a_create $V
randfile base 8
must write_file base /dev/mapper/$V 0
fio_verify_write /dev/mapper/$V 16M 16M || fail "fio verify with both legs"

host_do kill B
t0=$SECONDS
randfile p1 4
must timeout 60 dd if=p1 of=/dev/mapper/$V bs=1M seek=40 oflag=direct conv=fsync status=none
tw=$((SECONDS - t0))
log "a write with site B gone took ${tw}s"
[ "$(st_health $V)" = AD ] || fail "leg B not detached after site B was lost: $(st_health $V)"
fio_verify_write /dev/mapper/$V 48M 8M || fail "fio verify on leg A alone"
check_file base /dev/mapper/$V 0 || fail "data reads back wrong with site B gone"

host_do blank B
host_do boot B
wait_for exported-new 300
nvme_disconnect $NQN
nvme_connect $NQN2
must mc replace $V B $RLEG
wait_sync $V 300
check_file base /dev/mapper/$V 0 || fail "data wrong after the full sync"
check_file p1 /dev/mapper/$V 40 || fail "data written with site B gone wrong after the full sync"
must mc stop $V
legs_identical $LEG $RLEG || fail "legs differ after the full sync to the new leg"
signal done
pass "site B lost: first write took ${tw}s, new leg fully synced and identical"
