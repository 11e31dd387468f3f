#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Remote leg: leg B behind dm-delay adding 1 ms to every read and write
# (a site some 100 km away).  Measured: 4k random read qd16 x 2 jobs
# (dm-metro should serve reads from the fast leg while it is not
# saturated) and 4k random write qd1 latency (the floor is the slow leg's
# own latency), for the fast leg alone, the slow leg alone, dm-linear over
# the fast leg, dm-metro (also with read_mode direct) and md raid1 over the
# same two legs.
. "$(dirname "$0")/benchlib.sh"
need_metro
need_tools mdadm

A=/dev/ram0 R=/dev/ram1
SZ=$(blockdev --getsz $A)
modprobe raid1 || fail "modprobe raid1"
modprobe dm-delay || fail "modprobe dm-delay"
prefill $A $R
must dmsetup create slow --table "0 $SZ delay $R 0 1"
wait_node /dev/mapper/slow
B=/dev/mapper/slow

setup_fast() { echo $A; }
teardown_fast() { :; }
setup_slow() { echo $B; }
teardown_slow() { :; }
# dm-linear over the fast leg: the reads' ceiling for any dm target
setup_linear() {
	dmsetup create rlin --table "0 $SZ linear $A 0" >&2 || return 1
	wait_node /dev/mapper/rlin >&2; echo /dev/mapper/rlin
}
teardown_linear() { dmsetup remove rlin >&2; }
setup_metro() {
	wipe $A $B
	"$METROCTL" create rm $A $B --assume-clean --force >&2 || return 1
	wait_node /dev/mapper/rm >&2; echo /dev/mapper/rm
}
teardown_metro() {
	echo "status rm: $(dmsetup status rm)" >&2
	"$METROCTL" stop rm >&2
}
# The same with read_mode direct: reads share the original's pages (see
# bench_main.sh)
setup_metro_direct() {
	setup_metro && "$METROCTL" set rm --read-mode direct >&2
}
teardown_metro_direct() { teardown_metro; }
setup_md() {
	wipe $A $B
	mdadm --create /dev/md/rbench --name=rbench --run --quiet --level=1 --raid-devices=2 \
		--metadata=1.2 --assume-clean --bitmap=internal --bitmap-chunk=4M $A $B >&2 || return 1
	local d
	d=$(readlink -f /dev/md/rbench)
	wait_node "$d" >&2; echo "$d"
}
teardown_md() { mdadm --stop /dev/md/rbench >&2 && mdadm --zero-superblock $A $B >&2; }

for rep in $(seq "$BENCH_REPS"); do
	for sys in fast slow linear metro metro_direct md; do
		dev=$(setup_$sys) || fail "setup of $sys failed"
		out=$METRO_TMP/rr-$sys-$rep.json
		fio_run "$out" "$dev" ${WL[randread4k]} || fail "fio read on $sys"
		fio_rec "$out" read scenario=remote_randread4k system=$sys rep="$rep"
		case $sys in metro*)
			log "$sys reads: leg A $(st_reads_a rm), leg B $(st_reads_b rm)"
			rec scenario=remote_read_split system="$sys" rep="$rep" \
				reads_a="$(st_reads_a rm)" reads_b="$(st_reads_b rm)" ;;
		esac
		out=$METRO_TMP/rw-$sys-$rep.json
		fio_run "$out" "$dev" --rw=randwrite --bs=4k --iodepth=1 || fail "fio write on $sys"
		fio_rec "$out" write scenario=remote_write4k_qd1 system=$sys rep="$rep"
		teardown_$sys || fail "teardown of $sys failed"
	done
done
must dmsetup remove slow
pass
