#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Diagnosis, not part of `make bench`: two builds of dm-metro.ko against
# each other in one boot, so that a change is measured without the spread
# between VM runs.  Each repetition loads one build, then the other (the
# order alternating), creates the same volume on the same brd legs and runs
# the workloads; dm-linear over a leg runs beside them as the floor.
# Prints "AB WORKLOAD rep N: new/old R" per repetition and the median.
#
#   tests/vm/run.sh -q --case-dir tests/bench/cases --env METRO_RD_NR=9 \
#       --env BENCH_AB_OLD=/path/old.ko --env BENCH_AB_NEW=/path/new.ko \
#       [--env BENCH_AB_OPTS=--read-mode=direct] \
#       [--env BENCH_AB_WL=randread4k,seqread1m] [--env BENCH_REPS=5] bench_ab
#
# The paths are the host's (its root is the guest's).  BENCH_AB_OPTS are
# metroctl create options of the volume, BENCH_AB_WL workloads of
# benchlib.sh, both comma-separated.
. "$(dirname "$0")/benchlib.sh"

: "${BENCH_AB_OLD:?set BENCH_AB_OLD to the old dm-metro.ko}"
: "${BENCH_AB_NEW:?set BENCH_AB_NEW to the new dm-metro.ko}"
: "${BENCH_AB_OPTS:=}" "${BENCH_AB_WL:=randread4k,seqread1m,randwrite4k}"
# --env splits at spaces: lists are comma-separated
BENCH_AB_OPTS=${BENCH_AB_OPTS//,/ } BENCH_AB_WL=${BENCH_AB_WL//,/ }
[ -f "$BENCH_AB_OLD" ] || fail "no such module: $BENCH_AB_OLD"
[ -f "$BENCH_AB_NEW" ] || fail "no such module: $BENCH_AB_NEW"
A=/dev/ram2 B=/dev/ram3 LIN=/dev/ram1
prefill $A $B $LIN
SZ=$(blockdev --getsz $LIN)
must dmsetup create abl --table "0 $SZ linear $LIN 0"
wait_node /dev/mapper/abl

load() {	# KO
	if grep -qw '^metro' <(dmsetup targets); then
		modprobe -r dm-metro || rmmod dm-metro || fail "cannot unload dm-metro"
	fi
	local dep
	for dep in $(modinfo -F depends "$1" | tr , ' '); do
		modprobe "$dep" || fail "modprobe $dep (for $1)"
	done
	insmod "$1" || fail "insmod $1"
}

run_one() {	# SYSTEM DEV WORKLOAD REP
	local out=$METRO_TMP/$3-$1-$4.json d
	case $3 in *read*) d="read" ;; *) d="write" ;; esac
	# shellcheck disable=SC2086
	fio_run "$out" "$2" ${WL[$3]} || fail "fio $3 on $1"
	fio_rec "$out" $d scenario=ab_"$3" system="$1" rep="$4"
	fio_json "$out" | jq -r --arg d $d '.jobs[0][$d].iops' > "$METRO_TMP/$3-$1-$4.iops"
}

for rep in $(seq "$BENCH_REPS"); do
	order="old new"
	[ $((rep % 2)) = 0 ] && order="new old"
	for ver in $order; do
		if [ "$ver" = old ]; then load "$BENCH_AB_OLD"; else load "$BENCH_AB_NEW"; fi
		wipe $A $B
		# shellcheck disable=SC2086
		"$METROCTL" create ab $A $B --assume-clean $BENCH_AB_OPTS > /dev/null ||
			fail "metroctl create with $ver"
		wait_node /dev/mapper/ab
		for w in $BENCH_AB_WL; do run_one "$ver" /dev/mapper/ab "$w" "$rep"; done
		"$METROCTL" stop ab || fail "metroctl stop"
	done
	for w in $BENCH_AB_WL; do run_one linear /dev/mapper/abl "$w" "$rep"; done
done
for w in $BENCH_AB_WL; do
	rs=()
	for rep in $(seq "$BENCH_REPS"); do
		r=$(paste "$METRO_TMP/$w-new-$rep.iops" \
			"$METRO_TMP/$w-old-$rep.iops" "$METRO_TMP/$w-linear-$rep.iops" |
			awk '{ printf "%.3f %.3f %.3f", $1 / $2, $1 / $3, $2 / $3 }')
		# shellcheck disable=SC2086
		set -- $r
		echo "AB $w rep $rep: new/old $1 new/linear $2 old/linear $3"
		rs+=("$1")
	done
	echo "AB $w median new/old: $(printf '%s\n' "${rs[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
done
must dmsetup remove abl
pass
