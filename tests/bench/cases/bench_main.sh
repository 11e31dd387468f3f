#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Main table: the fio workloads of benchlib.sh (WL) on identical brd legs
# (128 MiB ramdisks, every page written once before anything is timed) for
# the raw leg, dm-linear over a leg, dm-metro, dm-mirror (disk log on a
# third ramdisk) and md raid1 (internal bitmap).  Every system has ramdisks
# of its own and all are set up at once, so that the runs can be
# interleaved finely: for each repetition, for each workload, every system
# in turn; a slow phase of the (shared) host then hits all systems alike.
# The write-intent granularity is 4 MiB everywhere: dm-metro's default
# region, dm-mirror's region size, md's --bitmap-chunk.  Then the metadata
# cost of dm-metro on a hot working set.  Needs METRO_RD_NR >= 9.
. "$(dirname "$0")/benchlib.sh"
need_metro
need_tools mdadm

[ -b /dev/ram8 ] || fail "needs 9 ramdisks (run with --env METRO_RD_NR=9)"
RAW=/dev/ram0 LIN=/dev/ram1 MA=/dev/ram2 MB=/dev/ram3 RA=/dev/ram4 RB=/dev/ram5 LOG=/dev/ram6
DA=/dev/ram7 DB=/dev/ram8
SZ=$(blockdev --getsz $RAW)
REGION=8192	# sectors: 4 MiB
modprobe raid1 || fail "modprobe raid1"
modprobe dm-mirror || fail "modprobe dm-mirror"
prefill $RAW $LIN $MA $MB $RA $RB $DA $DB
wipe $LOG

declare -A DEV
DEV[raw]=$RAW
must dmsetup create bl --table "0 $SZ linear $LIN 0"
wait_node /dev/mapper/bl
DEV[linear]=/dev/mapper/bl
must mc create bm $MA $MB --assume-clean
wait_node /dev/mapper/bm
DEV[metro]=/dev/mapper/bm
must dmsetup create bmir --table "0 $SZ mirror disk 3 $LOG $REGION nosync 2 $RA 0 $RB 0"
wait_node /dev/mapper/bmir
DEV[mirror]=/dev/mapper/bmir
must mdadm --create /dev/md/bench --name=bench --run --quiet --level=1 --raid-devices=2 \
	--metadata=1.2 --assume-clean --bitmap=internal --bitmap-chunk=4M $DA $DB
DEV[md]=$(readlink -f /dev/md/bench)
wait_node "${DEV[md]}"
mdadm --detail "${DEV[md]}" | grep -E 'Level|Bitmap|Devices|State :'
show_status bm
dmsetup status bmir

# metro_direct: the same volume with read_mode direct, on the read
# workloads only.  Under read_mode bounce a read under the deadline goes
# through bounce pages (a stalled leg may still write into them after the
# read was abandoned), which is one more copy of the data; read_mode direct
# reads into the original's pages, as md's and dm-mirror's reads do, and
# waits for a read in flight on a stalled leg (writes keep the deadline).
# The default, read_mode auto, bounces only the legs across a network: on
# these ramdisks it reads as direct does (target 1.9; before, the default
# bounced every read).
SYSTEMS="raw linear metro metro_direct mirror md"
DEV[metro_direct]=${DEV[metro]}
for rep in $(seq "$BENCH_REPS"); do
	for w in $WL_ORDER; do
		case $w in *read*) d=read ;; *) d=write ;; esac
		for sys in $SYSTEMS; do
			if [ $sys = metro_direct ]; then
				[ $d = read ] || continue
				must mc set bm --read-mode direct
			fi
			out=$METRO_TMP/$w-$sys-$rep.json
			# shellcheck disable=SC2086
			fio_run "$out" "${DEV[$sys]}" ${WL[$w]} || fail "fio $w on $sys"
			fio_rec "$out" $d scenario=$w system=$sys rep="$rep"
			[ $sys = metro_direct ] && must mc set bm --read-mode auto
		done
	done
done
show_status bm
dmsetup status bmir
must dmsetup remove bl bmir
must mdadm --stop /dev/md/bench

# The run whose clock counts instructions (bench_icount) measures only the
# throughput above.
if [ -n "${BENCH_CLOCK:-}" ]; then
	must mc stop bm
	pass
fi

# --- metadata writes at steady state on a hot working set ------------------
# A 16 MiB hot set (4 regions) written at random; after a warm-up run the
# counters are read around a second, measured run.  Data writes: the legs'
# /sys/block/*/stat write counts (brd counts nothing in 6.1: then the
# volume's own count, each of which is one data write per leg).
V=/dev/mapper/bm
vname=$(blk_name $V)
hot="--rw=randwrite --bs=4k --iodepth=16 --size=16M"
for rep in $(seq "$BENCH_REPS"); do
	# shellcheck disable=SC2086
	fio_run "$METRO_TMP/hot-warm.json" $V $hot || fail "fio warm-up"
	md0=$(st_mdwrites bm) vw0=$(awk '{print $5}' /sys/block/$vname/stat)
	a0=$(blk_stat $MA 5) b0=$(blk_stat $MB 5)
	# shellcheck disable=SC2086
	fio_run "$METRO_TMP/hot.json" $V $hot --ramp_time=0 --runtime=$((BENCH_RUNTIME * 2)) || fail "fio hot set"
	md1=$(st_mdwrites bm) vw1=$(awk '{print $5}' /sys/block/$vname/stat)
	a1=$(blk_stat $MA 5) b1=$(blk_stat $MB 5)
	show_status bm
	rec scenario=metadata system=metro rep="$rep" md_writes=$((md1 - md0)) \
		vol_writes=$((vw1 - vw0)) leg_a_writes=$((a1 - a0)) leg_b_writes=$((b1 - b0)) \
		dirty="$(st_dirty bm)"
done
must mc stop bm
pass
