#!/bin/bash
# metroctl create without --assume-clean on legs with different content:
# leg B is resynced from leg A in the background while fio writes; after
# the sync the legs are identical and the data is A's plus fio's writes.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=is
# different random content on the two legs (1 MiB patterns repeated: the
# data offset is a multiple of 1 MiB, so the volume shows pa at every MiB)
randfile pa 1; randfile pb 1
for ((i = 0; i < 128; i++)); do
	dd if=pa of=$A bs=1M seek=$i oflag=direct conv=notrunc status=none
	dd if=pb of=$B bs=1M seek=$i oflag=direct conv=notrunc status=none
done
# at 1 MiB/s (a region a second) the sync is still early when paused:
# unthrottled, the 127 MiB take a fraction of a second
must mc create $V $A $B --region-size 1M --resync-rate 1024
wait_node /dev/mapper/$V
# pause_resync freezes the copy: sync_action frozen, in_sync stays put
must dmsetup message $V 0 pause_resync
sleep 1
s1=$(dmsetup status $V); echo "paused: $s1"
[ "$(echo "$s1" | awk '{split($8, a, "/"); print (a[1] < a[2] - 64)}')" = 1 ] ||
	fail "the sync went too far at 1 MiB/s: $s1"
sleep 2
s2=$(dmsetup status $V); echo "paused: $s2"
[ "$(echo "$s2" | awk '{print $9}')" = frozen ] || fail "sync_action is not frozen after pause_resync"
[ "$(echo "$s1" | awk '{print $8}')" = "$(echo "$s2" | awk '{print $8}')" ] || fail "in_sync advanced while the resync was paused"
check_file pa /dev/mapper/$V 126 || fail "read of an uncopied region while paused returned wrong data"
# slow the resync down so it can be watched (the contract's message)
run dmsetup message $V 0 resync_rate 8192 || fail "resync_rate message refused"
must dmsetup message $V 0 resume_resync
sleep 0.5
[ "$(st_action $V)" != frozen ] || fail "still frozen after resume_resync"
s1=$(dmsetup status $V); echo "status: $s1"
off=$(data_offset $A) size=$(data_size $A)
log "data_offset $off, data_size $size"

fio --name=is --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randwrite \
	--bsrange=4k-64k --iodepth=8 --offset=16M --size=16M \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
	--output="$METRO_TMP/fio.out" &
fpid=$!
saw_a=0 saw_resync=0 saw_json=0 stale=0
for i in $(seq 12); do
	s=$(dmsetup status $V); echo "status: $s"
	# reads of regions not copied yet must come from leg A (never stale B data)
	for mib in 100 126; do
		check_file pa /dev/mapper/$V $mib || { echo "read at $mib MiB during the sync returned wrong data ($s)"; stale=1; }
	done
	set -- $s
	[ "$7" = Aa ] && saw_a=1
	[ "$9" = resync ] && saw_resync=1
	if [ "$7" = Aa ] && [ $saw_json = 0 ]; then
		js=$(status_json $V); echo "metroctl status: $js"
		[ "$(jq -r '.legs[] | select(.role == "B") | .health' <<<"$js")" = resyncing ] && saw_json=1
	fi
	sleep 0.5
done
wait $fpid || { cat "$METRO_TMP/fio.out"; fail "fio during the initial sync failed"; }
[ $stale = 0 ] || fail "reads during the initial sync returned data that is not leg A's"
[ $saw_a = 1 ] || fail "never saw health Aa during the initial sync"
[ $saw_resync = 1 ] || fail "never saw sync_action resync during the initial sync"
[ $saw_json = 1 ] || fail "metroctl status --json never said leg B is resyncing"
run dmsetup message $V 0 resync_rate 0 || fail "resync_rate 0 refused"
wait_sync $V 180
s=$(dmsetup status $V)
set -- $s
[ "${8%/*}" = "${8#*/}" ] || fail "in_sync != total: $8"
js=$(status_json $V); echo "metroctl status: $js"
[ "$(jq -r '.sync.in_sync_regions == .sync.total_regions' <<<"$js")" = true ] || fail "metroctl status: sync not complete"
[ "$(jq -r '[.legs[].health] | all(. == "in_sync")' <<<"$js")" = true ] || fail "metroctl status: legs not in_sync"
legs_identical $A $B || fail "legs differ after the initial sync"
# the volume holds leg A's original content outside fio's area
for mib in 0 1 5 8 15 32 33 64 100 126; do
	check_file pa /dev/mapper/$V $mib || fail "volume at $mib MiB is not leg A's original content"
done
fio --name=is --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randwrite --bsrange=4k-64k \
	--offset=16M --size=16M --verify=crc32c --verify_only --verify_state_save=0 --output="$METRO_TMP/fio-vo.out" ||
	{ cat "$METRO_TMP/fio-vo.out"; fail "fio's data is wrong after the sync"; }
must mc stop $V
# the stale flag is gone from both superblocks (leg records at 256 and 320, state at +40)
for L in $A $B; do
	for r in 256 320; do
		st=$(sb_u32 $L $((r + 40)))
		[ $((st & 4)) = 0 ] || fail "$L: leg record at $r still STALE after the sync (state $st)"
	done
done
pass
