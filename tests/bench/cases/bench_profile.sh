#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Diagnosis, not part of `make bench` (tests/bench/run.sh bench_profile): where
# the CPU goes under TCG for the workloads whose targets were missed.  For
# md raid1 and dm-metro on the same brd legs: perf stat (CPU time per run)
# and perf record (cpu-clock samples, all CPUs) of a 1M sequential write,
# a 1M sequential read and a 4k random read, then the top symbols.
. "$(dirname "$0")/benchlib.sh"
need_metro
need_tools mdadm perf

A=/dev/ram0 B=/dev/ram1
modprobe raid1 || fail "modprobe raid1"
prefill $A $B

profile() {	# SYSTEM DEV WORKLOAD
	local sys=$1 dev=$2 w=$3 out=$METRO_TMP/p-$1-$3
	# shellcheck disable=SC2086
	perf stat -a -e task-clock,context-switches -o "$out.stat" -- \
		fio --name=bench --filename="$dev" --ioengine=libaio --direct=1 --size="$BENCH_SIZE" \
		--time_based --runtime="$BENCH_RUNTIME" --group_reporting --output-format=json \
		${WL[$w]} > "$out.json" 2>&1 || { cat "$out.json" "$out.stat"; fail "perf stat"; }
	fio_rec "$out.json" "$( case $w in *read*) echo read ;; *) echo write ;; esac)" \
		scenario=profile_$w system=$sys
	grep -E 'task-clock|context-switches|elapsed' "$out.stat" | sed "s/^/$sys $w stat: /"
	# shellcheck disable=SC2086
	perf record -q -a -g -e cpu-clock -F 499 -o "$out.data" -- \
		fio --name=bench --filename="$dev" --ioengine=libaio --direct=1 --size="$BENCH_SIZE" \
		--time_based --runtime="$BENCH_RUNTIME" --group_reporting --output-format=json \
		${WL[$w]} > /dev/null 2>&1 || fail "perf record"
	perf report -q -i "$out.data" --stdio --no-children --sort sym --percent-limit 1.5 -g none 2>/dev/null |
		head -n 25 | sed "s/^/$sys $w top: /"
	perf report -q -i "$out.data" --stdio --no-children --sort comm --percent-limit 2 -g none 2>/dev/null |
		head -n 12 | sed "s/^/$sys $w comm: /"
}

wipe $A $B
mdadm --create /dev/md/prof --name=prof --run --quiet --level=1 --raid-devices=2 \
	--metadata=1.2 --assume-clean --bitmap=internal --bitmap-chunk=4M $A $B || fail "mdadm"
md=$(readlink -f /dev/md/prof)
for w in seqwrite1m seqread1m randread4k; do profile md "$md" $w; done
mdadm --stop /dev/md/prof && mdadm --zero-superblock $A $B
wipe $A $B
must mc create pm $A $B --assume-clean --force
wait_node /dev/mapper/pm
for w in seqwrite1m seqread1m randread4k; do profile metro /dev/mapper/pm $w; done
show_status pm
must mc stop pm
for w in seqwrite1m randread4k; do profile raw $A $w; done
pass
