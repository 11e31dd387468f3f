#!/bin/bash
# Active-active, both sites lost at once: both write a clustered volume
# (a file each, acknowledged, then fio to an area of their own) when both
# guests are killed together, every node and array with them.  Both boot
# again on the same disks, start the cluster and assemble the volume: the
# first node up takes over the other's bitmap slot (nobody holds it), and
# the regions to copy are the union of both nodes' dirty regions, not the
# whole volume.  At the end both files are there, read at both sites, and
# the legs are identical.
. "$(dirname "$0")/../lib.sh"

net_up
V=aa
lower=$(echo "$SITE" | tr AB ab) plower=$(echo "$PEER" | tr AB ab)
ME=$IP_A THEM=$IP_B
[ "$SITE" = B ] && ME=$IP_B THEM=$IP_A
MYNQN=nqn.2026-12.org.dm-metro:site-$lower
nvmet_export $LEG "$MYNQN" "$ME"
DLM_FENCE=$MYNQN
cluster_start atb
need_metro
modprobe dm-metro-cluster || fail "cannot load dm-metro-cluster"
signal "exported-$SITE.$METRO_BOOT"
wait_for "exported-$PEER.$METRO_BOOT"
nvme_connect "nqn.2026-12.org.dm-metro:site-$plower" "$THEM"
if [ "$SITE" = A ]; then LA=$LEG LB=$RLEG; else LA=$RLEG LB=$LEG; fi
# each site's file (acknowledged before the crash) and fio area
if [ "$SITE" = A ]; then KEEP=0 AREA=16M; else KEEP=8 AREA=24M; fi

if [ "$METRO_BOOT" = 1 ]; then
	if [ "$SITE" = A ]; then
		must mc create $V "$LA" "$LB" --assume-clean --region-size 1M --cluster "$CLUSTER_NAME" --nodes 2
		mc stop $V > /dev/null 2>&1
		signal created
	else
		wait_for created
	fi
	must mc assemble $V "$LA" "$LB"
	wait_node /dev/mapper/$V
	randfile "keep-$SITE" 2
	must write_file "keep-$SITE" /dev/mapper/$V $KEEP
	cp "keep-$SITE" "$METRO_SHARE/keep-$SITE"
	fio --name=w --filename=/dev/mapper/$V --rw=randwrite --bs=64k --direct=1 \
		--ioengine=libaio --iodepth=4 --offset=$AREA --size=8M --runtime=120 \
		--time_based > /dev/null 2>&1 &
	signal "writing-$SITE"
	if [ "$SITE" = A ]; then
		wait_for writing-B
		sleep 4
		show_status $V
		host_do crash both
	fi
	sleep 600
	fail "site $SITE was not killed"
fi

# both back: site A assembles first and takes site B's slot over
if [ "$SITE" = B ]; then
	wait_for assembled-A
	must mc assemble $V "$LA" "$LB"
	wait_node /dev/mapper/$V
	show_status $V
	wait_for synced-A 300
	check_file "$METRO_SHARE/keep-A" /dev/mapper/$V 0 || fail "site A's file reads back wrong at site B"
	check_file "$METRO_SHARE/keep-B" /dev/mapper/$V 8 || fail "site B's file reads back wrong after the crash"
	must mc stop $V
	signal stopped-B
	wait_for done 300
	pass "site B back after both were lost; both files read back"
fi

must mc assemble $V "$LA" "$LB"
wait_node /dev/mapper/$V
show_status $V
dmesg | grep "metro: $V: " | tail -n 6
own=$(last_oos $V)
merged=$(dmesg | sed -n "s/.*metro: $V: \([0-9]*\) regions of bitmap slot 1 to copy.*/\1/p" | tail -n 1)
[ -n "$merged" ] || fail "site A did not take over site B's bitmap slot: $(dmesg | grep "metro: $V: " | tail -n 3)"
total=$(st_sync $V); total=${total#*/}
log "site A: ${own:-0} regions of its own slot, $merged of site B's slot to copy, of $total"
[ "${own:-0}" -gt 0 ] && [ "$merged" -gt 0 ] ||
	fail "a slot had nothing to copy although both nodes were writing when they were lost"
[ $((${own:-0} + merged)) -lt "$total" ] ||
	fail "$((${own:-0} + merged)) regions to copy of $total: not only the dirty ones"
signal assembled-A
wait_sync $V 300
check_file "$METRO_SHARE/keep-A" /dev/mapper/$V 0 || fail "site A's file reads back wrong after the crash"
check_file "$METRO_SHARE/keep-B" /dev/mapper/$V 8 || fail "site B's file reads back wrong at site A"
signal synced-A
wait_for stopped-B
must mc stop $V
legs_identical "$LA" "$LB" || fail "the legs differ after the resync of both slots"
signal done
pass "both sites lost at once: the union of both slots resynced, legs identical"
