#!/bin/bash
# two-site-witness: yes
# Active-active, the link between the sites cut, with a witness: both
# sites write a clustered volume; the A-B link (corosync, the DLM and
# NVMe/TCP) is cut while the witness W (corosync-qnetd, ffsplit, lowest
# node id wins a 50/50 split) still reaches both.  Site A keeps quorum:
# it fences site B's path to its array (fence_metro from dlm_controld),
# detaches leg B and carries on with no I/O error.  Site B loses quorum
# and acknowledges no write from then on.  Site A then overwrites the area
# site B was writing; when the link returns, the writes site B's NVMe/TCP
# transport still held must not land on leg A (the fence refuses them).
# Site B is rebooted (the loser's way back), site A unfences it, site B
# assembles again and leg B is resynced: legs identical, every write
# acknowledged at either site present.
#
# METRO_NO_FENCE=1 runs it without fencing (dlm_controld --enable_fencing
# 0), to see the late writes land: the case must then fail.
. "$(dirname "$0")/../lib.sh"

[ "$SITE" = W ] && witness_serve

net_up
V=aa
lower=$(echo "$SITE" | tr AB ab) plower=$(echo "$PEER" | tr AB ab)
ME=$IP_A THEM=$IP_B
[ "$SITE" = B ] && ME=$IP_B THEM=$IP_A
MYNQN=nqn.2026-12.org.dm-metro:site-$lower
nvmet_export $LEG "$MYNQN" "$ME"
[ "${METRO_NO_FENCE:-0}" = 1 ] || DLM_FENCE=$MYNQN
cluster_start qdevice
need_metro
modprobe dm-metro-cluster || fail "cannot load dm-metro-cluster"
signal "exported-$SITE.$METRO_BOOT"
wait_for "exported-$PEER.1"
nvme_connect "nqn.2026-12.org.dm-metro:site-$plower" "$THEM"
if [ "$SITE" = A ]; then LA=$LEG LB=$RLEG; else LA=$RLEG LB=$LEG; fi
# area of site A's fio: 0-8M; of site B's fio: 8-16M; site B's numbered
# blocks (4 KiB each, "B seq N", one write at a time): from 16M on
SEQ0=4096

if [ "$SITE" = B ] && [ "$METRO_BOOT" = 1 ]; then
	wait_for created
	must mc assemble $V "$LA" "$LB"
	wait_node /dev/mapper/$V
	fio_verify_write /dev/mapper/$V 8M 8M --runtime=120 --time_based > /dev/null 2>&1 &
	(
		for ((n = 1; n <= 2048; n++)); do
			printf 'B seq %08d\n' $n | dd of=/dev/mapper/$V bs=4k seek=$((SEQ0 + n)) \
				conv=sync oflag=direct status=none 2>/dev/null || break
			echo $n > "$METRO_SHARE/b-acked.tmp" && mv "$METRO_SHARE/b-acked.tmp" "$METRO_SHARE/b-acked"
		done
	) &
	signal active-B
	wait_for cut 120
	wait_quorum No "" 60
	t_loss=$SECONDS
	n1=$(cat "$METRO_SHARE/b-acked")
	log "site B: quorum lost ${WAITED}s after the cut; $n1 numbered writes acknowledged"
	sleep 20
	n2=$(cat "$METRO_SHARE/b-acked")
	dmesg | grep "metro: $V:" | tail -n 8
	[ "$n2" = "$n1" ] ||
		fail "site B acknowledged $((n2 - n1)) writes in the $((SECONDS - t_loss))s after it lost quorum"
	dmesg_has "metro: $V: waiting .* does this node have quorum" ||
		fail "site B's kernel log does not say what its writes wait for"
	log "site B: no write acknowledged in the $((SECONDS - t_loss))s after quorum was lost"
	echo "$n1" > "$METRO_SHARE/b-acked-final"
	signal b-checked
	sleep 600
	fail "site B was not killed"
fi

if [ "$SITE" = B ]; then
	# rebooted after the link came back: join, assemble, resync leg B
	must mc assemble $V "$LA" "$LB"
	wait_node /dev/mapper/$V
	show_status $V
	wait_sync $V 300
	show_status $V
	signal synced-B
	wait_for verified-A 300
	must mc stop $V
	signal stopped-B
	wait_for done 300
	pass "site B lost quorum, acknowledged nothing, came back and resynced leg B"
fi

# site A
must mc create $V "$LA" "$LB" --assume-clean --region-size 1M --cluster "$CLUSTER_NAME" --nodes 2
must mc assemble $V "$LA" "$LB"
wait_node /dev/mapper/$V
signal created
wait_for active-B
fio_verify_write /dev/mapper/$V 0 8M --runtime=45 --time_based --verify_backlog=256 \
	> "$METRO_TMP/fio-a.log" 2>&1 &
fpid=$!
sleep 6
host_do link off
signal cut
t0=$SECONDS
for i in $(seq 900); do [ "$(st_health $V)" = AD ] && break; sleep 0.1; done
[ "$(st_health $V)" = AD ] || fail "leg B not detached $((SECONDS - t0))s after the link was cut: $(dmsetup status $V)"
log "site A: leg B detached $((SECONDS - t0))s after the link was cut"
[ "$(quorate)" = Yes ] || fail "site A lost quorum although the witness votes for it"
if [ -n "$DLM_FENCE" ]; then
	e=$(cat /sys/kernel/config/nvmet/subsystems/$MYNQN/namespaces/1/enable)
	[ "$e" = 0 ] || fail "site B's path to leg A is not fenced (namespace enable $e)"
fi
# where the time to the detach went: membership, quorum, fencing
timeout 10 dlm_tool dump 2>/dev/null | grep -E 'fence|quorum|cluster node|check_' | tail -n 12
grep -E 'quorum|Members|members' "$CLUSTER_LOGS/corosync.log" 2>/dev/null | tail -n 6
# over what site B was writing: site B's held writes must not undo this
randfile pb 8
must write_file pb /dev/mapper/$V 8
wait $fpid || { cat "$METRO_TMP/fio-a.log"; fail "site A saw an I/O error or wrong data across the link loss"; }
log "site A: fio verified its writes across the link loss"
wait_for b-checked 120

host_do link on
# site B's transport reconnects every second (reconnect_delay 1): what it
# held would land now
sleep 12
check_file pb /dev/mapper/$V 8 ||
	fail "what site A wrote after the cut was overwritten when the link returned: site B's held writes landed on leg A"
log "site A: its writes over site B's area are intact after the link returned"
dmesg | grep "metro: $V:" | tail -n 5

host_do kill B
[ -n "$DLM_FENCE" ] && must mc fence -o on --subsys "$MYNQN"
host_do boot B
wait_for synced-B 600
for i in $(seq 100); do [ "$(st_health $V)" = AA ] && break; sleep 0.1; done
[ "$(st_health $V)" = AA ] || fail "site A does not write leg B again: $(dmsetup status $V)"
check_file pb /dev/mapper/$V 8 || fail "site A's writes over site B's area read back wrong after the resync"
n=$(cat "$METRO_SHARE/b-acked-final")
for ((k = 1; k <= n; k++)); do
	got=$(dd if=/dev/mapper/$V bs=4k skip=$((SEQ0 + k)) count=1 iflag=direct status=none | head -c 14)
	[ "$got" = "$(printf 'B seq %08d' $k)" ] || fail "site B's acknowledged write $k is not on the volume ('$got')"
done
log "site A: all $n writes site B acknowledged before the cut are there"
signal verified-A
wait_for stopped-B
must mc stop $V
legs_identical "$LA" "$LB" || fail "the legs differ after leg B's resync"
signal done
pass "link cut: the witness kept site A running, site B fenced and stopped; $n writes of site B kept"
