#!/bin/bash
# Active-active, a site lost: both sites write a clustered volume (each its
# own area, fio with verify); site B's guest is killed meanwhile, its node
# and its array with it.  Site A (the preferred site: auto_tie_breaker)
# must carry on with no I/O error: site B's path to leg A fenced by
# dlm_controld's fence_metro, leg B detached once its deadline passed and
# the DLM's recovery let the change through, site B's bitmap slot taken
# over.  Site A unfences site B before it boots again.  Then site A writes more; site
# B boots again on the same disk, rejoins the cluster and assembles the
# volume: leg B, older, is resynced from leg A (only the regions written
# without it), site A writes to both legs again meanwhile, and at the end
# the legs are identical and every acknowledged write is there.
. "$(dirname "$0")/../lib.sh"

net_up
V=aa
lower=$(echo "$SITE" | tr AB ab) plower=$(echo "$PEER" | tr AB ab)
ME=$IP_A THEM=$IP_B
[ "$SITE" = B ] && ME=$IP_B THEM=$IP_A
MYNQN=nqn.2026-12.org.dm-metro:site-$lower
nvmet_export $LEG "$MYNQN" "$ME"
# site A preferred (auto_tie_breaker): it keeps quorum alone, and fences
# site B's path to leg A before it takes site B's locks
DLM_FENCE=$MYNQN
cluster_start atb
need_metro
modprobe dm-metro-cluster || fail "cannot load dm-metro-cluster"
signal "exported-$SITE.$METRO_BOOT"
wait_for "exported-$PEER.1"
nvme_connect "nqn.2026-12.org.dm-metro:site-$plower" "$THEM"
if [ "$SITE" = A ]; then LA=$LEG LB=$RLEG; else LA=$RLEG LB=$LEG; fi

if [ "$SITE" = B ] && [ "$METRO_BOOT" = 1 ]; then
	wait_for created
	must mc assemble $V "$LA" "$LB"
	wait_node /dev/mapper/$V
	signal active-B
	# writes until this guest is killed
	fio_verify_write /dev/mapper/$V 8M 8M --runtime=60 --time_based > /dev/null 2>&1
	sleep 600
	fail "site B was not killed"
fi

if [ "$SITE" = B ]; then
	# back on the same disk: join again, assemble, resync leg B
	must mc assemble $V "$LA" "$LB"
	wait_node /dev/mapper/$V
	show_status $V
	[ "$(st_action $V)" = resync ] || [ "$(st_action $V)" = idle ] ||
		fail "leg B is not resynced at its return: $(dmsetup status $V)"
	# its own slot's regions (activation), and those of the slots it read
	merged=$(dmesg | sed -n "s/.*metro: $V: \([0-9]*\) regions of bitmap slot [0-9]* to copy.*/\1/p" |
		awk '{ s += $1 } END { print s + 0 }')
	todo=$(( $(last_oos $V) + merged ))
	log "site B: $todo regions to copy to leg B ($merged from the other slots)"
	echo "$todo" > "$METRO_SHARE/todo"
	wait_sync $V 300
	show_status $V
	dd if=/dev/mapper/$V bs=1M count=8 iflag=direct status=none | md5sum > "$METRO_SHARE/a-area-B"
	signal synced-B
	wait_for verified-A 300
	must mc stop $V
	signal stopped-B
	wait_for done 300
	pass "site B came back, resynced leg B from leg A and read site A's data"
fi

# site A
must mc create $V "$LA" "$LB" --assume-clean --region-size 1M --cluster "$CLUSTER_NAME" --nodes 2
must mc assemble $V "$LA" "$LB"
wait_node /dev/mapper/$V
signal created
wait_for active-B
show_status $V
fio_verify_write /dev/mapper/$V 0 8M --runtime=25 --time_based --verify_backlog=256 \
	> "$METRO_TMP/fio-a.log" 2>&1 &
fpid=$!
sleep 5
host_do kill B
t0=$SECONDS
for i in $(seq 600); do [ "$(st_health $V)" = AD ] && break; sleep 0.1; done
[ "$(st_health $V)" = AD ] || fail "leg B not detached $((SECONDS - t0))s after site B was lost: $(dmsetup status $V)"
log "leg B detached $((SECONDS - t0))s after site B was lost"
wait $fpid || { cat "$METRO_TMP/fio-a.log"; fail "site A saw an I/O error or wrong data when site B was lost"; }
dmesg | grep -E "metro: $V: (cluster node|.*bitmap slot)" | tail -n 5
dmesg_has "metro: $V: cluster node 2 (bitmap slot 1) is gone" ||
	fail "the kernel log does not say that node 2's slot is taken over"
randfile p1 4
must write_file p1 /dev/mapper/$V 40
sum=$(dd if=/dev/mapper/$V bs=1M count=8 iflag=direct status=none | md5sum)
show_status $V

[ "$(cat /sys/kernel/config/nvmet/subsystems/$MYNQN/namespaces/1/enable)" = 0 ] ||
	fail "site B's path to leg A was not fenced when site B was lost"
# site B rebooted: its path unfenced before it assembles
must mc fence -o on --subsys "$MYNQN"
host_do boot B
wait_for synced-B 600
todo=$(cat "$METRO_SHARE/todo")
total=$(st_sync $V); total=${total#*/}
log "leg B's return: $todo of $total regions copied"
[ "$todo" -gt 0 ] && [ "$todo" -lt "$total" ] ||
	fail "the resync copied $todo of $total regions: not only those written without leg B"
for i in $(seq 100); do [ "$(st_health $V)" = AA ] && break; sleep 0.1; done
[ "$(st_health $V)" = AA ] || fail "site A does not write leg B again: $(dmsetup status $V)"
[ "$(dd if=/dev/mapper/$V bs=1M count=8 iflag=direct status=none | md5sum)" = "$sum" ] ||
	fail "what fio wrote at site A reads back different after leg B's return"
[ "$(cat "$METRO_SHARE/a-area-B")" = "$sum" ] || fail "site B reads site A's area differently"
check_file p1 /dev/mapper/$V 40 || fail "what site A wrote without leg B reads back wrong"
signal verified-A
wait_for stopped-B
must mc stop $V
legs_identical "$LA" "$LB" || fail "the legs differ after leg B's resync"
signal done
pass "site B lost: site A carried on, leg B resynced $todo of $total regions at its return"
