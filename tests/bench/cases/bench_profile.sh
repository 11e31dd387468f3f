#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Diagnosis, not part of `make bench` (tests/bench/run.sh bench_profile): where
# the CPU goes under TCG for the workloads whose targets were missed.  For
# md raid1 and dm-metro on the same brd legs: perf record (cpu-clock
# samples, all CPUs) of the 4k random write, 1M sequential write and read
# and 4k random read workloads, then the top (command, symbol) pairs: which
# thread does the copying, and on how many vCPUs; the reads also with
# read_mode direct, on dm-mirror and on dm-linear, and the writes on dm-linear
# and the raw leg.  Then the initial sync
# of a new volume (the resync engine) against a raw dd copy.
. "$(dirname "$0")/benchlib.sh"
need_metro
need_tools mdadm perf

A=/dev/ram0 B=/dev/ram1
modprobe raid1 || fail "modprobe raid1"
prefill $A $B
# BENCH_PROFILE_WL, BENCH_PROFILE_READS: other workloads of benchlib.sh's
# WL; BENCH_PROFILE_SYNC=0 leaves out the initial sync and the dd copy;
# BENCH_PROFILE_LIMIT, BENCH_PROFILE_LINES: the smallest share of the
# samples a symbol listed has (per cent) and how many are listed at most.
PROFILE_LIMIT=${BENCH_PROFILE_LIMIT:-1.5}
PROFILE_LINES=${BENCH_PROFILE_LINES:-30}
PROFILE_WL=${BENCH_PROFILE_WL:-randwrite4k seqwrite1m seqread1m randread4k}
PROFILE_READS=${BENCH_PROFILE_READS-randread4k seqread1m}

profile() {	# SYSTEM DEV WORKLOAD
	local sys=$1 dev=$2 w=$3 out=$METRO_TMP/p-$1-$3
	# shellcheck disable=SC2086
	perf record -q -a -e cpu-clock -F 499 -o "$out.data" -- \
		fio --name=bench --filename="$dev" --ioengine=libaio --direct=1 --size="$BENCH_SIZE" \
		--time_based --runtime="$BENCH_RUNTIME" --group_reporting --output-format=json \
		${WL[$w]} > "$out.json" 2>&1 || { cat "$out.json"; fail "perf record"; }
	fio_rec "$out.json" "$(case $w in *read*) echo read ;; *) echo write ;; esac)" \
		scenario=profile_$w system=$sys
	perf report -q -i "$out.data" --stdio --sort comm,sym --percent-limit "$PROFILE_LIMIT" \
		2>/dev/null | head -n "$PROFILE_LINES" | sed "s/^/$sys $w top: /"
	perf report -q -i "$out.data" --stdio --sort comm --percent-limit 1 2>/dev/null |
		head -n 10 | sed "s/^/$sys $w threads: /"
	rm -f "$out.data"
}

wipe $A $B
mdadm --create /dev/md/prof --name=prof --run --quiet --level=1 --raid-devices=2 \
	--metadata=1.2 --assume-clean --bitmap=internal --bitmap-chunk=4M $A $B || fail "mdadm"
md=$(readlink -f /dev/md/prof)
for w in $PROFILE_WL; do profile md "$md" $w; done
mdadm --stop /dev/md/prof && mdadm --zero-superblock $A $B
wipe $A $B
must mc create pm $A $B --assume-clean --force
wait_node /dev/mapper/pm
for w in $PROFILE_WL; do profile metro /dev/mapper/pm $w; done
# Reads without the bounce copy (read_mode direct), and the same reads on
# dm-mirror and dm-linear: what a read costs above the floor of a dm target.
must mc set pm --read-mode direct
for w in $PROFILE_READS; do profile metro_direct /dev/mapper/pm $w; done
show_status pm
must mc stop pm
wipe $A $B
SZ=$(blockdev --getsz $A)
modprobe dm-mirror || fail "modprobe dm-mirror"
must dmsetup create pmir --table "0 $SZ mirror core 2 8192 nosync 2 $A 0 $B 0"
wait_node /dev/mapper/pmir
for w in $PROFILE_READS; do profile mirror /dev/mapper/pmir $w; done
must dmsetup remove pmir
must dmsetup create plin --table "0 $SZ linear $A 0"
wait_node /dev/mapper/plin
writes=$(for w in $PROFILE_WL; do case $w in *write*) echo "$w" ;; esac; done)
for w in $PROFILE_READS $writes; do profile linear /dev/mapper/plin $w; done
must dmsetup remove plin
for w in $writes; do profile raw $A $w; done

[ "${BENCH_PROFILE_SYNC:-1}" = 0 ] && pass
# The resync engine: the initial sync of a new volume (no --assume-clean)
# copies every region with the same copier as a resync (metro-resync.c);
# then a raw O_DIRECT dd of as many bytes.
wipe $A $B
echo "bench-initial-sync-start" > /dev/kmsg
perf record -q -a -e cpu-clock -F 499 -o "$METRO_TMP/p-sync.data" -- bash -c '
	"$METROCTL" create ps '"$A $B"' --force > /dev/null || exit 1
	while ! dmsetup status ps | grep -q " AA "; do sleep 0.1; done' || fail "initial sync"
dmesg | grep -E 'bench-initial-sync-start|ps: (activated|resync complete)' | tail -n 3
perf report -q -i "$METRO_TMP/p-sync.data" --stdio --sort comm,sym --percent-limit 1.5 2>/dev/null |
	head -n 30 | sed "s/^/metro initial-sync top: /"
perf report -q -i "$METRO_TMP/p-sync.data" --stdio --sort comm --percent-limit 1 2>/dev/null |
	head -n 10 | sed "s/^/metro initial-sync threads: /"
doff=$(data_offset $A) n=$(data_size $A)
must mc stop ps
perf record -q -a -e cpu-clock -F 499 -o "$METRO_TMP/p-dd.data" -- \
	dd if=$A of=$B bs=4M iflag=direct,skip_bytes,count_bytes oflag=direct,seek_bytes \
	skip=$((doff * 512)) seek=$((doff * 512)) count=$((n * 512)) || fail "dd"
perf report -q -i "$METRO_TMP/p-dd.data" --stdio --sort comm,sym --percent-limit 1.5 2>/dev/null |
	head -n 20 | sed "s/^/dd copy top: /"
pass
