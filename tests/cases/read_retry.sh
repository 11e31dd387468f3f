#!/bin/bash
# A read that fails on a leg is retried on the other one, in each of the
# three ways a read reaches a leg: through bounce pages (read_mode bounce),
# passed on as it is (read_mode direct) and at io_deadline 0 (passed on
# as it is, tracked by no deadline).  With write_mostly A every read goes
# to leg B first; leg B (dm-linear) is switched to the error target while
# 4k and 1 MiB reads run: none fails, each 1 MiB read returns the data
# written, leg B is detached, and the kernel log names the retry.  Then
# leg B returns, is restored, and the legs are compared.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/mapper/rr_b V=rr
sz=$(blockdev --getsz /dev/ram1)
linear_leg rr_b /dev/ram1
new_volume $V $A $B --region-size 1M
randfile base 24
must write_file base /dev/mapper/$V 0

for mode in bounce direct nodl; do
	case $mode in
	# failfast B (which brd ignores) on two of them: the flag goes on the
	# clone (bounce) or on the bio and off again for the retry (nodl)
	bounce) must mc set $V --write-mostly A --read-mode bounce --io-deadline 5000 --failfast B ;;
	direct) must mc set $V --write-mostly A --read-mode direct --io-deadline 5000 --failfast none ;;
	nodl) must mc set $V --write-mostly A --read-mode bounce --io-deadline 0 --failfast B ;;
	esac
	show_status $V
	[ "$(st_health $V)" = AA ] || fail "$mode: legs not both in sync at the start"
	rb=$(st_reads_b $V) ra=$(st_reads_a $V)
	dmesg -C
	fio --name=rr --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randread \
		--bs=4k --iodepth=16 --numjobs=2 --offset=0 --size=24M --runtime=6 --time_based \
		--output="$METRO_TMP/fio-$mode.out" > /dev/null &
	fpid=$!
	# 1 MiB reads in a loop, each checked, while the leg dies
	(
		n=0
		while [ ! -e "$METRO_TMP/stop" ]; do
			off=$((n % 24))
			dd if=/dev/mapper/$V bs=1M skip=$off count=1 iflag=direct status=none |
				cmp -s - <(dd if=base bs=1M skip=$off count=1 status=none) ||
				{ echo "1M read at $off MiB wrong or failed"; exit 1; }
			n=$((n + 1))
		done
		echo "1M reads: $n"
	) > "$METRO_TMP/big-$mode.out" 2>&1 &
	bpid=$!
	sleep 2
	[ "$(st_reads_b $V)" -gt "$rb" ] || fail "$mode: no read went to leg B: the check proves nothing"
	reload rr_b "0 $sz error"
	log "$mode: leg B now returns errors"
	wait $fpid; frc=$?
	touch "$METRO_TMP/stop"
	wait $bpid; brc=$?
	rm -f "$METRO_TMP/stop"
	cat "$METRO_TMP/big-$mode.out"
	grep -E 'read:|err=' "$METRO_TMP/fio-$mode.out"
	[ $frc = 0 ] || { cat "$METRO_TMP/fio-$mode.out"; fail "$mode: 4k reads failed ($frc) when leg B failed"; }
	[ $brc = 0 ] || fail "$mode: $(cat "$METRO_TMP/big-$mode.out")"
	[ "$(st_health $V)" = AD ] || fail "$mode: leg B not detached after its read errors: $(st_health $V)"
	dmesg_has "read of region [0-9]* failed on leg B, retrying on leg A" ||
		fail "$mode: the kernel log names no retry on leg A: $(dmesg | tail -n 5)"
	[ "$(st_reads_a $V)" -gt "$ra" ] || fail "$mode: leg A served no read"
	check_file base /dev/mapper/$V 0 || fail "$mode: data reads back wrong on leg A alone"

	reload rr_b "0 $sz linear /dev/ram1 0"
	must mc restore $V B
	wait_sync $V 120
done
must mc stop $V
legs_identical $A $B || fail "legs differ after the restores"
must dmsetup remove rr_b
pass
