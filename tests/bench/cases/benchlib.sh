# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers sourced by the benchmark cases (tests/bench/cases/bench_*.sh),
# on top of tests/cases/lib.sh.  They run in the test VM; every measured
# figure is printed as one line "BENCHREC <json object>" on the console,
# which tests/bench/run.sh collects from the run's log.
#
# Settings (tests/vm/run.sh --env, defaults here):
#   BENCH_REPS     repetitions of every figure (median reported), 5
#   BENCH_RUNTIME  seconds measured per fio run, 3
#   BENCH_RAMP     seconds of fio ramp (not measured), 1
#   BENCH_SIZE     bytes of the device each fio run covers, 96M
#   BENCH_CLOCK    put before every scenario name: "icount_" for the run
#                  whose guest clock counts instructions (tests/bench/run.sh)
. "$METRO_SRC/tests/cases/lib.sh"

: "${BENCH_REPS:=5}" "${BENCH_RUNTIME:=3}" "${BENCH_RAMP:=1}" "${BENCH_SIZE:=96M}"

# rec KEY=VALUE...: one result record; numbers stay numbers
rec() {
	local args=() kv k v
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		[ "$k" = scenario ] && v=${BENCH_CLOCK:-}$v
		if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
			args+=(--argjson "$k" "$v")
		else
			args+=(--arg "$k" "$v")
		fi
	done
	echo "BENCHREC $(jq -cn "${args[@]}" '$ARGS.named')"
}

# fio_json FILE: the JSON part of a fio --output-format=json output (fio may
# print messages before it, e.g. when stopped by a signal)
fio_json() { sed -n '/^{/,$p' "$1"; }

# The fio workloads of the main table: name -> fio options.
declare -A WL=(
	[randwrite4k]="--rw=randwrite --bs=4k --iodepth=16 --numjobs=1"
	[randread4k]="--rw=randread --bs=4k --iodepth=16 --numjobs=2"
	[seqwrite1m]="--rw=write --bs=1M --iodepth=4 --numjobs=1"
	[seqread1m]="--rw=read --bs=1M --iodepth=4 --numjobs=2 --offset_increment=48M --size=48M"
	[syncwrite4k]="--rw=randwrite --bs=4k --iodepth=1 --numjobs=1 --fsync=1"
)
WL_ORDER="randwrite4k randread4k seqwrite1m seqread1m syncwrite4k"

# fio_run OUT DEV OPTIONS...: one timed fio run (libaio, O_DIRECT) over the
# first BENCH_SIZE bytes of DEV; JSON output in OUT
fio_run() {
	local out=$1 dev=$2; shift 2
	fio --name=bench --filename="$dev" --ioengine=libaio --direct=1 \
		--size="$BENCH_SIZE" --offset=0 --time_based --runtime="$BENCH_RUNTIME" \
		--ramp_time="$BENCH_RAMP" --group_reporting --randrepeat=0 --norandommap \
		--lat_percentiles=1 --percentile_list=50:99 --output-format=json \
		"$@" > "$out" 2> "$out.err" || { cat "$out" "$out.err"; return 1; }
}

# fio_rec OUT DIR KEY=VALUE...: record the DIR (read|write) side of a fio
# JSON output: IOPS, MB/s, total latency p50/p99 in microseconds
fio_rec() {
	local out=$1 dir=$2 vals; shift 2
	vals=$(fio_json "$out" | jq -r --arg d "$dir" '.jobs[0][$d] as $s |
		($s.lat_ns.percentile // $s.clat_ns.percentile) as $p |
		[$s.iops, ($s.bw_bytes / 1000000), ($p["50.000000"] / 1000), ($p["99.000000"] / 1000),
		 $s.total_ios, (.jobs[0].sync.lat_ns.percentile["99.000000"] // 0) / 1000] | @tsv') ||
		{ cat "$out"; fail "cannot parse fio output $out"; }
	local iops mbps p50 p99 ios sp99
	read -r iops mbps p50 p99 ios sp99 <<<"$vals"
	rec "$@" iops="$iops" mbps="$mbps" p50_us="$p50" p99_us="$p99" ios="$ios" sync_p99_us="$sp99"
}

# wipe DEV...: zero the first 4 MiB (any md, dm-metro or dm-mirror metadata)
wipe() {
	local d
	for d in "$@"; do
		dd if=/dev/zero of="$d" bs=1M count=4 oflag=direct status=none || fail "wipe $d"
	done
}

# prefill DEV...: write every block once, so brd has allocated its pages
# before anything is timed (a first write into a brd page allocates it)
prefill() {
	local d
	for d in "$@"; do
		dd if=/dev/zero of="$d" bs=1M oflag=direct status=none 2>/dev/null
		blockdev --flushbufs "$d"
	done
}

# now_ns: monotonic-ish wall clock in nanoseconds
now_ns() { date +%s%N; }

# kmsg_ts TEXT: kernel timestamp (seconds) of the newest dmesg line with TEXT
kmsg_ts() { dmesg | grep -F -- "$1" | tail -n 1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'; }

need_tools() {
	local t
	for t in fio jq dmsetup "$@"; do
		command -v "$t" >/dev/null || fail "$t not installed (make deps)"
	done
}

# calc EXPR: floating-point arithmetic (awk), 6 decimals
calc() { awk "BEGIN { printf \"%.6f\n\", $* }"; }
