#!/bin/bash
# Crash recovery with the write-intent bitmap.  Runs on the host and boots
# the VM once per iteration plus once per chain (METRO_CRASH_ITERATIONS,
# default 8, split over METRO_CRASH_JOBS chains of one-vCPU VMs running
# side by side, default 2); each boot recovers the previous iteration's
# crash, then crashes again:
#  phase crash: create --assume-clean on two virtio disks backed by image
#    files, write 4 KiB blocks with unique contents in a few regions,
#    logging each completed write to a third disk, fio writes elsewhere; a
#    marker is printed and the host kills qemu (-9) after a random delay.
#  phase recover: the bitmap shows dirty regions, activation resyncs only
#    those (in_sync > 0 from the start), the legs end up identical and
#    every logged write reads back intact.
# metro-boot: host
set -u

if [ -z "${METRO_IN_VM:-}" ]; then
	# ---------------------------------------------------------------- host
	TOP=$(cd "$(dirname "$0")/../.." && pwd)
	mkdir -p "$TOP/build/crash"
	dir=$(mktemp -d "$TOP/build/crash/run.XXXXXX")	# kept when an iteration fails
	echo "# disk images and boot logs in $dir"
	n=${METRO_CRASH_ITERATIONS:-8}
	# chains of iterations run side by side, each VM on one vCPU
	jobs=${METRO_CRASH_JOBS:-2}
	marker="METRO-CRASH-""MARKER"

	# chain J COUNT: COUNT iterations on disk images of their own
	chain() {
		local j=$1 count=$2 d=$dir/chain$1 prev="" seed delay it rc log args disks
		mkdir -p "$d"
		truncate -s 64M "$d/a.img" "$d/b.img"
		truncate -s 4M "$d/log.img"
		disks=(--disk "$d/a.img" --disk "$d/b.img" --disk "$d/log.img")
		for ((it = 1; it <= count + 1; it++)); do
			args=(--env METRO_PREV_SEED="$prev" --env METRO_ITERATION=$((it - 1)))
			if [ $it -le "$count" ]; then
				seed=$RANDOM$RANDOM
				delay=$(awk -v s="$seed" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 2.2 }')
				echo "# chain $j boot $it: ${prev:+recover iteration $((it - 1)), then }crash iteration $it/$count: seed $seed, kill $delay s after the marker"
				args+=(--env METRO_SEED="$seed" --kill-after-marker "$marker" --kill-delay "$delay")
			else
				seed=""
				echo "# chain $j boot $it: recover iteration $((it - 1))"
			fi
			"$TOP/tests/vm/run.sh" -q "${disks[@]}" --smp 1 --timeout 900 --case-timeout 600 \
				"${args[@]}" crash_recovery > "$d/boot$it.out" 2>&1
			rc=$?
			log=$(sed -n 's/.*log \(\/[^ ]*\.log\)$/\1/p' "$d/boot$it.out" | head -n 1)
			[ -f "$log" ] && tr -d '\r' < "$log" | grep -a '^# crash_recovery:' |
				sed "s/^# crash_recovery: /# chain $j: /" |
				grep -E 'logged|dirty regions|all .* intact|in sync after|FAIL' | tail -n 8
			if [ $rc != 0 ]; then
				cat "$d/boot$it.out"
				[ -n "$seed" ] && [ $rc = 3 ] && echo "FAIL: chain $j boot $it did not reach the crash point"
				echo "FAIL: chain $j boot $it failed (run.sh exit $rc)"
				return 1
			fi
			prev=$seed
		done
	}

	pids=() left=$n
	for ((j = 1; j <= jobs; j++)); do
		count=$((left / (jobs - j + 1)))
		left=$((left - count))
		[ "$count" -gt 0 ] || continue
		chain $j $count > "$dir/chain$j.out" 2>&1 &
		pids+=($!)
	done
	ok=1
	for ((j = 0; j < ${#pids[@]}; j++)); do
		wait "${pids[$j]}" || ok=0
		cat "$dir/chain$((j + 1)).out"
	done
	[ $ok = 1 ] || { echo "FAIL: a crash chain failed (logs in $dir)"; exit 1; }
	rm -rf "$dir"
	echo "PASS: $n crash iterations"
	exit 0
fi

# ------------------------------------------------------------------- guest
. "$(dirname "$0")/lib.sh"
need_metro
A=$(disk_by_serial disk0) && B=$(disk_by_serial disk1) && LOG=$(disk_by_serial disk2) ||
	skip "needs three virtio disks disk0..disk2 (run crash_recovery.sh on the host)"
V=cr
FIRST=$((10 * 256)) NBLK=$((8 * 256))	# 4 KiB blocks: regions 10..17 of 1 MiB
# the write order: a permutation of the blocks from the seed
order() { seq 0 $((NBLK - 1)) | shuf --random-source=<(yes "$SEED"); }
pattern() { printf "%-4095s\n" "metro crash seed=$SEED block=$1"; }
idle_file() { yes "metro idle file seed=$SEED" | head -c $((2 * MIB)) > pat; }

# crash_phase (SEED set): the writes the host kills the VM in the middle of
crash_phase() {
	dd if=/dev/zero of="$LOG" bs=4k count=1 oflag=direct status=none
	must mc create $V $A $B --assume-clean --region-size 1M --force
	wait_node /dev/mapper/$V
	# an idle file at the start of the volume, whose regions get cleared
	idle_file
	must write_file pat /dev/mapper/$V 0
	show_status $V
	fio --name=bg --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randwrite \
		--bs=4k --iodepth=16 --offset=40M --size=4M --time_based --runtime=600 \
		--output=/dev/null &
	k=0
	order > order.txt
	while read -r b; do
		pattern "$((FIRST + b))" | dd of=/dev/mapper/$V bs=4k seek=$((FIRST + b)) count=1 \
			oflag=direct iflag=fullblock conv=notrunc status=none || fail "write of block $b failed"
		printf "%-511s\n" "$k" | dd of="$LOG" bs=512 count=1 oflag=direct,dsync conv=notrunc status=none
		k=$((k + 1))
		[ $k = 12 ] && { show_status $V; echo "METRO-CRASH-MARKER: $k writes done"; }
	done < order.txt
	echo "all writes done before the kill"
	sleep 600
}

# recover_phase (SEED set to the crashed iteration's): check the recovery
recover_phase() {
	done_writes=$(head -c 511 "$LOG" | tr -d ' \n')
	[ -n "$done_writes" ] || fail "no write was logged before the crash"
	done_writes=$((done_writes + 1))
	echo "$done_writes writes were logged complete before the crash"
	for L in $A $B; do
		fl=$(sb_u32 $L 100)
		[ $((fl & 1)) = 0 ] || fail "$L is marked CLEAN after a crash"
	done
	exa=$(examine_json $A) || fail "examine $A failed"
	exb=$(examine_json $B) || fail "examine $B failed"
	echo "examine A: $exa"
	da=$(jq -r .dirty_regions <<<"$exa") db=$(jq -r .dirty_regions <<<"$exb")
	echo "dirty regions after the crash: A $da, B $db"
	[ "$da" -gt 0 ] || [ "$db" -gt 0 ] || fail "no dirty region recorded after a crash during writes"
	it=${METRO_ITERATION:-1}
	if [ $((it % 2)) = 1 ]; then
		# activate with a slow resync, to watch it copy only the dirty regions
		size=$(data_size $A)
		must dmsetup create $V --table "0 $size metro $A $B 2 resync_rate 2048"
	else
		must mc assemble $V $A $B
	fi
	wait_node /dev/mapper/$V
	s=$(dmsetup status $V); echo "status right after activation: $s"
	set -- $s
	in=${8%/*} tot=${8#*/}
	[ "$in" -gt 0 ] || fail "in_sync is 0 right after activation: a full resync instead of the dirty regions"
	[ "$in" -ge $((tot - da - db)) ] || fail "in_sync $in < total $tot - dirty ($da + $db): more than the dirty regions to resync"
	if [ $((it % 2)) = 1 ]; then
		[ "$in" -lt "$tot" ] || fail "in_sync $in == total right after activation with $da dirty regions and a 2 MiB/s resync"
		[ "$7" = AA ] || [ "$7" = Aa ] || fail "health $7 during the recovery resync"
		[ "$9" = resync ] || fail "sync_action $9 during the recovery resync"
		sleep 2; show_status $V
		must dmsetup message $V 0 resync_rate 0
	fi
	wait_sync $V 300
	legs_identical $A $B || fail "legs differ after the recovery resync"
	idle_file
	check_file pat /dev/mapper/$V 0 || fail "the idle file changed"
	# every logged write reads back intact (a write not yet logged may or may not be there)
	dd if=/dev/mapper/$V of=area.bin bs=4k skip=$FIRST count=$NBLK iflag=direct status=none
	order | head -n "$done_writes" > done.txt
	python3 - "$SEED" "$FIRST" area.bin done.txt <<-'PY' || fail "completed writes lost or damaged"
	import sys
	seed, first, area, done = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
	data = open(area, "rb").read()
	bad = 0
	for b in map(int, open(done).read().split()):
	    want = ("%-4095s\n" % ("metro crash seed=%s block=%d" % (seed, first + b))).encode()
	    if data[b * 4096:(b + 1) * 4096] != want:
	        print("block %d (write logged complete) is wrong" % (first + b))
	        bad += 1
	sys.exit(1 if bad else 0)
	PY
	echo "all $done_writes logged writes intact"
	show_status $V
	dmsetup remove $V || mc stop $V || fail "cannot stop the volume"
}

[ -n "${METRO_PREV_SEED:-}${METRO_SEED:-}" ] || skip "run on the host: tests/cases/crash_recovery.sh"
if [ -n "${METRO_PREV_SEED:-}" ]; then
	SEED=$METRO_PREV_SEED
	echo "recovering iteration ${METRO_ITERATION:-?} (seed $SEED)"
	recover_phase
fi
if [ -n "${METRO_SEED:-}" ]; then
	SEED=$METRO_SEED
	crash_phase
fi
pass
