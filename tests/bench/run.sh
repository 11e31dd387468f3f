#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: boot the test VM (2 vCPUs) and run the benchmark cases of
# tests/bench/cases/ in it, then print the table, write
# tests/bench/results/latest.{json,txt,png} and check nothing (benchmarks
# report; they do not fail on a missed target).
#
#   tests/bench/run.sh [--reps N] [--runtime S] [--ramp S] [--resync-mib M]
#                      [--out DIR] [CASE...]
#     --reps N         repetitions of every figure, median reported (5)
#     --runtime S      measured seconds per fio run (3)
#     --ramp S         fio ramp seconds, not measured (1)
#     --resync-mib M   leg size of the resync scenario (512)
#     --out DIR        results directory (tests/bench/results)
#     --icount-reps N  repetitions in the bench_icount run (2)
#     --icount-shift S its guest clock: 2^S ns per instruction (2)
#     CASE             bench_main, bench_remote, bench_resync, bench_check,
#                      bench_two_site, bench_cluster, bench_icount (default
#                      all); bench_profile (perf in the guest) only when named
# bench_two_site and bench_cluster (active-active: clustered dm-metro at
# both sites, md-cluster, DRBD dual-primary) run in two guests joined by a
# private link (tests/two-site/run.sh, cases in tests/bench/two-site/),
# after the others; `tests/bench/run.sh bench_cluster` runs that one alone.
# bench_icount runs bench_main's workloads and bench_remote again, last, in
# a VM of one vCPU whose clock counts the instructions executed
# (tests/vm/run.sh --icount): CPU-bound figures that repeat to within a
# fraction of a per cent whatever else the host does, where the figures
# timed by the host's clock spread by tens of per cent.
# Exit status: 0 when every case ran and produced records, 1 otherwise.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
orig=$*
reps=5 runtime=3 ramp=1 resync_mib=512 out=$TOP/tests/bench/results cases=()
icount_reps=2 icount_shift=2
usage() { awk 'NR >= 4 && /^#/ { sub(/^# ?/, ""); print } /^set -u/ { exit }' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--ramp) ramp=$2; shift 2 ;;
	--resync-mib) resync_mib=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--icount-reps) icount_reps=$2; shift 2 ;;
	--icount-shift) icount_shift=$2; shift 2 ;;
	-h|--help) usage ;;
	-*) echo "bench: unknown option $1" >&2; usage ;;
	*) cases+=("$1"); shift ;;
	esac
done
[ ${#cases[@]} -gt 0 ] || cases=(bench_main bench_remote bench_resync bench_check bench_two_site bench_cluster bench_icount)
command -v gnuplot >/dev/null || echo "bench: gnuplot missing (make deps): no chart" >&2
mkdir -p "$out"
vmcases=() sitecases=() icount=0
for c in "${cases[@]}"; do
	case $c in
	bench_two_site|bench_cluster) sitecases+=("$c") ;;
	bench_icount) icount=1 ;;
	*) vmcases+=("$c") ;;
	esac
done
log=$out/console.log logs=() rc=0
start=$SECONDS
if [ ${#vmcases[@]} -gt 0 ]; then
	"$TOP/tests/vm/run.sh" -q --case-dir "$TOP/tests/bench/cases" --smp 2 --mem 2560 \
		--case-timeout 1800 --timeout 3600 --log "$log" --env METRO_RD_NR=9 \
		--env BENCH_REPS="$reps" --env BENCH_RUNTIME="$runtime" --env BENCH_RAMP="$ramp" \
		--env BENCH_RESYNC_MIB="$resync_mib" "${vmcases[@]}" || rc=1
	echo "bench: VM run took $((SECONDS - start))s (console log $log)"
	logs+=("$log")
fi
for c in "${sitecases[@]}"; do
	t0=$SECONDS
	rm -f "$out"/two-site-"$c"-*.console
	METRO_TWO_SITE_LOGS=$out "$TOP/tests/two-site/run.sh" --case-dir "$TOP/tests/bench/two-site" \
		--disks 2 --disk-mib 256 --timeout 3000 --env BENCH_REPS="$reps" \
		--env BENCH_RUNTIME="$runtime" --env BENCH_RAMP="$ramp" "$c" || rc=1
	echo "bench: two-site run of $c took $((SECONDS - t0))s (console logs $out/two-site-$c-*.console)"
	# site A records every figure of both sites
	logs+=("$out/two-site-$c-A.1.console")
done
if [ "$icount" = 1 ]; then
	t0=$SECONDS
	ilog=$out/console-icount.log
	"$TOP/tests/vm/run.sh" -q --icount "$icount_shift" --case-dir "$TOP/tests/bench/cases" \
		--smp 1 --mem 2560 --case-timeout 1800 --timeout 3600 --log "$ilog" \
		--env METRO_RD_NR=9 --env BENCH_CLOCK=icount_ --env BENCH_REPS="$icount_reps" \
		--env BENCH_RUNTIME="$runtime" --env BENCH_RAMP="$ramp" bench_main bench_remote || rc=1
	echo "bench: icount run took $((SECONDS - t0))s (console log $ilog)"
	logs+=("$ilog")
fi
cmd="make bench"
[ -n "$orig" ] && cmd="tests/bench/run.sh $orig"
python3 "$TOP/tests/bench/report.py" "${logs[@]}" "$out" --command "$cmd" || rc=1
exit $rc
