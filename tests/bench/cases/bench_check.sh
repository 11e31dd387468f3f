#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Online verify (metroctl check).  Legs of BENCH_RESYNC_MIB (512) MiB,
# in sync; a check compares every region of both legs.
#   idle:  check rate with idle legs (volume bytes compared per second,
#          from the kernel's "check started" to its "check complete"
#          line), vs. a raw O_DIRECT dd reading both legs' data areas at
#          the same time (4 MiB blocks; the slower dd's own time)
#   load:  p99 of a paced 4k random read/write load (1000 reads/s + 1000
#          writes/s, qd4) over the I/Os that completed while a check ran
#          (fio's per-I/O latency log, pooled over the repetitions), vs.
#          the same load without a check
. "$(dirname "$0")/benchlib.sh"
need_metro

: "${BENCH_RESYNC_MIB:=512}"
modprobe -r brd
modprobe brd rd_nr=2 rd_size=$((BENCH_RESYNC_MIB * 1024)) || fail "modprobe brd"
for i in $(seq 50); do [ -b /dev/ram1 ] && break; sleep 0.1; done
A=/dev/ram0 B=/dev/ram1 V=ck
prefill $A $B
must mc create $V $A $B --assume-clean --force
wait_node /dev/mapper/$V
VOL=/dev/mapper/$V
len=$(blockdev --getsz $VOL)
doff=$(data_offset $A)
bytes=$((len * 512))
log "volume: $len sectors, $(st_sync $V | cut -d/ -f2) regions, data offset $doff"

check_state() { dm_st $V 19; }
# wait_check: until the check is no longer running (polled every 0.5 s)
wait_check() {
	local t=$SECONDS
	while :; do
		case $(check_state) in
		check) ;;
		done) return 0 ;;
		*) fail "check ended as $(check_state): $(dmsetup status $V)" ;;
		esac
		[ $((SECONDS - t)) -lt 600 ] || fail "check still running after 600 s: $(dmsetup status $V)"
		sleep 0.5
	done
}

load="--rw=randrw --bs=4k --iodepth=4 --rate_iops=1000,1000 --size=$bytes"
load_rec() {
	local out=$1; shift
	fio_rec "$out" read "$@" dir=read
	fio_rec "$out" write "$@" dir=write
}

pool=$METRO_TMP/during.log pool_ms=0
: > "$pool"
window_cut() {	# LOG FROM_MS TO_MS
	awk -F', *' -v f="$2" -v t="$3" '$1 >= f && $1 <= t { print $2, $3 }' "$1" >> "$pool"
	pool_ms=$((pool_ms + $3 - $2))
}
pool_rec() {
	local d n p50 p99 vals
	for d in 0 1; do
		vals=$(awk -v d=$d '$2 == d { print $1 }' "$pool" | sort -n | awk '{ v[NR] = $1 } END {
				if (NR < 100) exit 1
				i50 = int(NR * 0.5 + 0.5); i99 = int(NR * 0.99 + 0.5)
				printf "%d %.1f %.1f\n", NR, v[i50] / 1000, v[i99] / 1000 }') ||
			fail "fewer than 100 I/Os logged during the checks"
		read -r n p50 p99 <<<"$vals"
		rec "$@" dir="$([ $d = 0 ] && echo read || echo write)" ios="$n" window_ms="$pool_ms" \
			iops="$(calc "$n * 1000 / $pool_ms")" p50_us="$p50" p99_us="$p99"
	done
}

for rep in $(seq "$BENCH_REPS"); do
	# --- idle legs ------------------------------------------------------
	dmesg -C
	"$METROCTL" check $V > /dev/null || fail "check did not start"
	wait_check
	t0=$(kmsg_ts "$V: check started at region 0")
	t1=$(kmsg_ts "$V: check complete")
	[ -n "$t0" ] && [ -n "$t1" ] || { dmesg | tail; fail "no kernel timestamps for the check"; }
	secs=$(calc "$t1 - $t0")
	[ "$(dm_st $V 21)" = 0 ] || fail "the check found mismatches: $(dmsetup status $V)"
	rec scenario=check_idle system=metro rep="$rep" bytes="$bytes" secs="$secs" \
		mbps="$(calc "$bytes / $secs / 1000000")"
	# raw: both data areas read at once, as the check reads them
	for d in $A $B; do
		dd if=$d of=/dev/null bs=4M iflag=direct,skip_bytes,count_bytes skip=$((doff * 512)) \
			count=$bytes 2> "$METRO_TMP/dd-$(basename $d).err" &
	done
	wait
	secs=0
	for d in $A $B; do
		s=$(sed -n 's/.* copied, \([0-9.e+-]*\) s,.*/\1/p' "$METRO_TMP/dd-$(basename $d).err")
		[ -n "$s" ] || { cat "$METRO_TMP/dd-$(basename $d).err"; fail "no time in dd's summary"; }
		secs=$(calc "($s > $secs) ? $s : $secs")
	done
	rec scenario=check_idle system=dd rep="$rep" bytes="$bytes" secs="$secs" \
		mbps="$(calc "$bytes / $secs / 1000000")"

	# --- foreground load without a check --------------------------------
	# shellcheck disable=SC2086
	fio_run "$METRO_TMP/base.json" $VOL $load --runtime=4 || fail "fio baseline"
	load_rec "$METRO_TMP/base.json" scenario=check_load system=no_check rep="$rep"

	# --- foreground load during a check ---------------------------------
	rm -f "$METRO_TMP"/lat_*.log
	# shellcheck disable=SC2086
	fio --name=bench --filename=$VOL --ioengine=libaio --direct=1 --offset=0 --time_based \
		--runtime=900 --randrepeat=0 --norandommap --write_lat_log="$METRO_TMP/lat" \
		--log_unix_epoch=1 --output-format=json $load > "$METRO_TMP/load.json" 2>&1 &
	fpid=$!
	sleep 1
	from=$(date +%s%3N)
	"$METROCTL" check $V > /dev/null || fail "check did not start"
	wait_check
	to=$(date +%s%3N)
	kill -INT $fpid
	wait $fpid
	window_cut "$METRO_TMP/lat_lat.1.log" "$from" "$to"
	log "check load: $(((to - from) / 1000)) s, $(wc -l < "$pool") I/Os logged during the checks so far"
	[ "$(dm_st $V 21)" = 0 ] || fail "the check under load found mismatches: $(dmsetup status $V)"
done
pool_rec scenario=check_load system=during_check rep=pooled
legs_identical $A $B || fail "legs differ after the checks"
must mc stop $V
pass
