#!/bin/bash
# Active-active: one clustered volume written at both sites at once.
# Corosync (two_node) and dlm_controld run at both sites; each site
# exports its own leg over NVMe/TCP and connects to the other's, so that
# both see leg A and leg B.  Site A creates the volume (--cluster, 2
# slots); both activate it and must hold different bitmap slots.  Then:
# (1) each site writes and verifies its own 8 MiB with fio at the same
# time; (2) both write the same 4 MiB at once, 4 KiB blocks at random
# offsets, O_DIRECT, each its own byte pattern: without the region locks
# the two legs would see the writes in different orders.  At the end the
# legs must hold the same data, every block of the shared area either
# untouched or one site's pattern, and site B must read site A's area
# as site A wrote it.
. "$(dirname "$0")/../lib.sh"

net_up
cluster_start two_node
need_metro
V=aa
lower=$(echo "$SITE" | tr AB ab) plower=$(echo "$PEER" | tr AB ab)
ME=$IP_A THEM=$IP_B
[ "$SITE" = B ] && ME=$IP_B THEM=$IP_A
modprobe dm-metro-cluster || fail "cannot load dm-metro-cluster"
nvmet_export $LEG "nqn.2026-12.org.dm-metro:site-$lower" "$ME"
signal "exported-$SITE"
wait_for "exported-$PEER"
nvme_connect "nqn.2026-12.org.dm-metro:site-$plower" "$THEM"
if [ "$SITE" = A ]; then LA=$LEG LB=$RLEG; else LA=$RLEG LB=$LEG; fi

if [ "$SITE" = A ]; then
	must mc create $V "$LA" "$LB" --assume-clean --region-size 1M --cluster "$CLUSTER_NAME" --nodes 2
	mc stop $V >/dev/null 2>&1
	signal created
else
	wait_for created
fi
must mc assemble $V "$LA" "$LB"
wait_node /dev/mapper/$V
show_status $V
slot=$(dmsetup status $V | awk '{ for (i = 1; i <= NF; i++) if ($i == "cluster") print $(i + 1) }')
[ -n "$slot" ] && [ "$slot" != - ] || fail "no cluster slot in the status"
echo "$slot" > "$METRO_SHARE/slot-$SITE"
signal "active-$SITE"
wait_for "active-$PEER"
[ "$(cat "$METRO_SHARE/slot-$PEER")" != "$slot" ] ||
	fail "both sites hold bitmap slot $slot"
log "site $SITE: bitmap slot $slot"

# (1) disjoint areas at once, verified
off=0
[ "$SITE" = B ] && off=8
fio_verify_write /dev/mapper/$V ${off}M 8M || fail "fio verify of this site's area"
signal "disjoint-$SITE"
wait_for "disjoint-$PEER"

# (2) the same blocks at once, each site its own pattern
pat=0xa1a1a1a1
[ "$SITE" = B ] && pat=0xb2b2b2b2
t0=$SECONDS
fio --name=overlap --filename=/dev/mapper/$V --rw=randwrite --bs=4k --direct=1 \
	--ioengine=libaio --iodepth=8 --offset=16M --size=4M --runtime=8 --time_based \
	--buffer_pattern=$pat --randrepeat=0 --output="$METRO_TMP/overlap.out" ||
	fail "overlapping writes failed"
grep -E 'write:|iops' "$METRO_TMP/overlap.out" | head -3
log "site $SITE: overlapping writes for $((SECONDS - t0))s"
show_status $V
signal "overlap-$SITE"
wait_for "overlap-$PEER"

if [ "$SITE" = B ]; then
	# site A's area, written there, read here
	dd if=/dev/mapper/$V bs=1M count=8 iflag=direct status=none | md5sum > "$METRO_SHARE/a-area-B"
	must mc stop $V
	signal stopped-B
	wait_for done 300
	pass "site B wrote its area and the shared one, and stopped"
fi

dd if=/dev/mapper/$V bs=1M count=8 iflag=direct status=none | md5sum > "$METRO_TMP/a-area-A"
wait_for stopped-B
cmp -s "$METRO_TMP/a-area-A" "$METRO_SHARE/a-area-B" ||
	fail "site B read site A's area differently from site A"
must mc stop $V
legs_identical "$LA" "$LB" || fail "the legs differ after writes from both sites"
# every 4 KiB block of the shared area: zeros, or one site's pattern
doff=$(data_offset "$LA")
dd if="$LA" bs=512 skip=$((doff + 16 * 2048)) count=$((4 * 2048)) iflag=direct status=none |
	/usr/bin/od -An -v -tx1 -w4096 | awk '
	{ gsub(/ /, ""); b = substr($0, 1, 2); s = $0; gsub(b, "", s)
	  if (s != "" || (b != "00" && b != "a1" && b != "b2")) bad++
	  n[b]++ }
	END { printf "blocks: %d zero, %d site A, %d site B, %d mixed\n", n["00"], n["a1"], n["b2"], bad
	      exit (bad > 0 || !n["a1"] || !n["b2"]) }' ||
	fail "a block of the shared area mixes data, or a site's writes are missing"
signal done
pass "both sites wrote at once; legs identical"
