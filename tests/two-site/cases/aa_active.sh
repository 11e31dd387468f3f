#!/bin/bash
# Active-active: one clustered volume written at both sites at once, in
# one boot of the two guests.  Corosync (auto_tie_breaker, site A
# preferred) and dlm_controld (fencing by fence_metro) run at both sites;
# each site exports its own leg over NVMe/TCP and connects to the
# other's, so that both see leg A and leg B.  Site A creates the volume
# (--cluster, 2 slots); both activate it and must hold different bitmap
# slots.  Then:
# (1) each site writes and verifies its own 8 MiB with fio at the same
#     time;
# (2) both write the same 4 MiB at once, 4 KiB blocks at random offsets,
#     O_DIRECT, each its own byte pattern: without the region locks the
#     two legs would see the writes in different orders.  The legs must
#     hold the same data, every block of the shared area either untouched
#     or one site's pattern, and site B must read site A's area as site A
#     wrote it;
# (3) site A loses its path to leg B (its NVMe/TCP controller is deleted)
#     while the cluster link stays up: leg B is detached for both nodes
#     before site A's next write completes, so site B, whose own leg is B,
#     reads what site A wrote then from leg A and sends no read to leg B;
#     site A reconnects and restores leg B, resynced from leg A;
# (4) GFS2 on the volume, mounted at both sites: files written at each
#     site read back at the other, fsck.gfs2 -n clean.
# At the end the legs are identical.
. "$(dirname "$0")/../lib.sh"

net_up
V=aa
lower=$(echo "$SITE" | tr AB ab) plower=$(echo "$PEER" | tr AB ab)
ME=$IP_A THEM=$IP_B
[ "$SITE" = B ] && ME=$IP_B THEM=$IP_A
MYNQN=nqn.2026-12.org.dm-metro:site-$lower PNQN=nqn.2026-12.org.dm-metro:site-$plower
nvmet_export $LEG "$MYNQN" "$ME"
DLM_FENCE=$MYNQN
cluster_start atb
need_metro
modprobe dm-metro-cluster || fail "cannot load dm-metro-cluster"
signal "exported-$SITE"
wait_for "exported-$PEER"
nvme_connect "$PNQN" "$THEM"
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
ra=$(st_reads_a $V) rb=$(st_reads_b $V)
fio_verify_write /dev/mapper/$V ${off}M 8M || fail "fio verify of this site's area"
# fio's verify reads: each site reads its own site's leg
ra=$(($(st_reads_a $V) - ra)) rb=$(($(st_reads_b $V) - rb))
log "site $SITE: reads sent to leg A $ra, to leg B $rb"
if [ "$SITE" = A ]; then mine=$ra; else mine=$rb; fi
[ $((mine * 10)) -ge $(((ra + rb) * 8)) ] ||
	fail "site $SITE sent $mine of $((ra + rb)) reads to its own leg: less than 80 %"
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

dd if=/dev/mapper/$V bs=1M count=8 iflag=direct status=none | md5sum > "$METRO_SHARE/a-area-$SITE"
signal "read-$SITE"
wait_for "read-$PEER"
if [ "$SITE" = A ]; then
	cmp -s "$METRO_SHARE/a-area-A" "$METRO_SHARE/a-area-B" ||
		fail "site B read site A's area differently from site A"
	# both sites idle: the legs compared under the active volume
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
	signal overlap-checked
else
	wait_for overlap-checked
fi

# (3) site A's path to leg B fails; the cluster link stays up
if [ "$SITE" = A ]; then
	nvme_disconnect "$PNQN"
	randfile pq 4
	cp pq "$METRO_SHARE/pq"
	must write_file pq /dev/mapper/$V 24
	[ "$(st_health $V)" = AD ] || fail "leg B is not detached at site A after its path failed: $(dmsetup status $V)"
	log "site A: its path to leg B gone, leg B detached, 4 MiB written at 24M"
	signal pathfail-A
	wait_for checked-B
	nvme_connect "$PNQN" "$THEM"
	LB=$RLEG
	for i in $(seq 30); do mc restore $V B "$LB" && break; sleep 1; done
	[ "$(st_health $V)" != AD ] || fail "metroctl restore did not take leg B back: $(dmsetup status $V)"
	wait_sync $V 300
	signal restored-A
else
	wait_for pathfail-A
	for i in $(seq 100); do [ "$(st_health $V)" = AD ] && break; sleep 0.1; done
	[ "$(st_health $V)" = AD ] || fail "leg B, detached at site A, is not detached here: $(dmsetup status $V)"
	rb=$(st_reads_b $V)
	check_file "$METRO_SHARE/pq" /dev/mapper/$V 24 ||
		fail "site B does not read what site A wrote while leg B was detached: it read the stale leg"
	[ "$(st_reads_b $V)" = "$rb" ] || fail "site B sent reads to leg B while it was detached"
	log "site B: leg B detached here too; site A's new data read from leg A"
	signal checked-B
	wait_for restored-A 300
	for i in $(seq 300); do [ "$(st_health $V)" = AA ] && [ "$(st_action $V)" = idle ] && break; sleep 0.1; done
	[ "$(st_health $V)" = AA ] || fail "site B does not write leg B again after site A restored it: $(dmsetup status $V)"
	check_file "$METRO_SHARE/pq" /dev/mapper/$V 24 || fail "site A's data reads back wrong at site B after the resync"
fi
show_status $V

# (4) GFS2 at both sites
FS=/mnt/gfs
must modprobe gfs2
if [ "$SITE" = A ]; then
	must mkfs.gfs2 -O -p lock_dlm -t "$CLUSTER_NAME:metrofs" -j 2 -J 8 /dev/mapper/$V
	signal mkfs
else
	wait_for mkfs
fi
mkdir -p $FS
must mount -t gfs2 /dev/mapper/$V $FS
for k in $(seq 10); do
	head -c $((k * 37 * 1024)) /dev/urandom > "$FS/$SITE-$k"
done
sync
(cd $FS && md5sum $SITE-*) > "$METRO_SHARE/sums-$SITE"
signal "files-$SITE"
wait_for "files-$PEER" 300
(cd $FS && md5sum -c --quiet "$METRO_SHARE/sums-$PEER") ||
	fail "files written at site $PEER read back different here"
log "site $SITE: site $PEER's files read back as written"
signal "checked-files-$SITE"
wait_for "checked-files-$PEER" 300
must umount $FS
signal "umounted-$SITE"

if [ "$SITE" = B ]; then
	wait_for fsck-done 300
	must mc stop $V
	signal stopped-B
	wait_for done 300
	pass "site B wrote at once with site A, lost no data to site A's path failure, shared GFS2"
fi

wait_for umounted-B 300
must fsck.gfs2 -n /dev/mapper/$V
signal fsck-done
wait_for stopped-B
must mc stop $V
legs_identical "$LA" "$LB" || fail "the legs differ at the end"
signal done
pass "both sites wrote at once, a path failure detached leg B for both, GFS2 at both sites; legs identical"
