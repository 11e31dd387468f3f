#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Main table: the fio workloads of benchlib.sh (WL) on identical brd legs
# for the raw leg, dm-linear over it, dm-metro, dm-mirror (disk log on a
# third ramdisk) and md raid1 (internal bitmap).  The write-intent
# granularity is 4 MiB everywhere: dm-metro's default region, dm-mirror's
# region size, md's --bitmap-chunk.  The repetitions are interleaved
# (rep 1 of every system, then rep 2, ...), so a slow phase of the host
# hits all systems alike.  Then the metadata cost of dm-metro on a hot
# working set.
. "$(dirname "$0")/benchlib.sh"
need_metro
need_tools mdadm

A=/dev/ram0 B=/dev/ram1 LOG=/dev/ram6
SZ=$(blockdev --getsz $A)
REGION=8192	# sectors: 4 MiB
modprobe raid1 || fail "modprobe raid1"
modprobe dm-mirror || fail "modprobe dm-mirror"
modprobe dm-log 2>/dev/null
prefill $A $B $LOG

# setup_SYSTEM: print the device to benchmark; teardown_SYSTEM
setup_raw() { echo $A; }
teardown_raw() { :; }
setup_linear() {
	dmsetup create bl --table "0 $SZ linear $A 0" >&2 || return 1
	wait_node /dev/mapper/bl >&2; echo /dev/mapper/bl
}
teardown_linear() { dmsetup remove bl; }
setup_metro() {
	wipe $A $B
	"$METROCTL" create bm $A $B --assume-clean --force >&2 || return 1
	wait_node /dev/mapper/bm >&2; echo /dev/mapper/bm
}
teardown_metro() { "$METROCTL" stop bm >&2; }
setup_mirror() {
	wipe $LOG
	dmsetup create bmir --table "0 $SZ mirror disk 3 $LOG $REGION nosync 2 $A 0 $B 0" >&2 || return 1
	wait_node /dev/mapper/bmir >&2; echo /dev/mapper/bmir
}
teardown_mirror() { dmsetup remove bmir; }
setup_md() {
	wipe $A $B
	mdadm --create /dev/md/bench --name=bench --run --quiet --level=1 --raid-devices=2 \
		--metadata=1.2 --assume-clean --bitmap=internal --bitmap-chunk=4M $A $B >&2 || return 1
	local d
	d=$(readlink -f /dev/md/bench)
	wait_node "$d" >&2; echo "$d"
}
teardown_md() { mdadm --stop /dev/md/bench >&2 && mdadm --zero-superblock $A $B >&2; }

SYSTEMS="raw linear metro mirror md"
for rep in $(seq "$BENCH_REPS"); do
	for sys in $SYSTEMS; do
		dev=$(setup_$sys) || fail "setup of $sys failed"
		[ "$sys" = md ] && [ "$rep" = 1 ] && mdadm --detail "$dev" | grep -E 'Bitmap|Chunk|Level|Devices'
		[ "$sys" = metro ] && [ "$rep" = 1 ] && show_status bm
		for w in $WL_ORDER; do
			out=$METRO_TMP/$w-$sys-$rep.json
			# shellcheck disable=SC2086
			fio_run "$out" "$dev" ${WL[$w]} || fail "fio $w on $sys"
			case $w in *read*) d=read ;; *) d=write ;; esac
			fio_rec "$out" $d scenario=$w system=$sys rep="$rep"
		done
		teardown_$sys || fail "teardown of $sys failed"
	done
done

# --- metadata writes at steady state on a hot working set ------------------
# A 16 MiB hot set (4 regions) written at random; after a warm-up run the
# counters are read around a second, measured run.
wipe $A $B
must mc create bm $A $B --assume-clean --force
wait_node /dev/mapper/bm
V=/dev/mapper/bm
vname=$(blk_name $V)
hot="--rw=randwrite --bs=4k --iodepth=16 --size=16M"
for rep in $(seq "$BENCH_REPS"); do
	# shellcheck disable=SC2086
	fio_run "$METRO_TMP/hot-warm.json" $V $hot || fail "fio warm-up"
	md0=$(st_mdwrites bm) vw0=$(awk '{print $5}' /sys/block/$vname/stat)
	a0=$(blk_stat $A 5) b0=$(blk_stat $B 5)
	# shellcheck disable=SC2086
	fio_run "$METRO_TMP/hot.json" $V $hot --ramp_time=0 --runtime=$((BENCH_RUNTIME * 2)) || fail "fio hot set"
	md1=$(st_mdwrites bm) vw1=$(awk '{print $5}' /sys/block/$vname/stat)
	a1=$(blk_stat $A 5) b1=$(blk_stat $B 5)
	show_status bm
	rec scenario=metadata system=metro rep="$rep" md_writes=$((md1 - md0)) \
		vol_writes=$((vw1 - vw0)) leg_a_writes=$((a1 - a0)) leg_b_writes=$((b1 - b0)) \
		dirty="$(st_dirty bm)"
done
must mc stop bm
pass
