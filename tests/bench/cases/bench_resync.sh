#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Resync.  Legs of BENCH_RESYNC_MIB (512) MiB; leg B is a dm-linear over
# ram1 so that it can be failed (error table) under writes, as
# tests/cases/leg_failure.sh does.  While it is detached, the first 25%
# of the volume is written; then it is switched back and `metroctl
# restore` re-adds it.  The table carries resync_rate 1 (KiB/s) so that
# restore starts (one region) without running away; the timed resync
# starts with the message "resync_rate 0" and ends when in_sync == total
# (kernel timestamps: a /dev/kmsg marker and "resync complete").
#   idle:  resync rate with idle legs, vs. a raw O_DIRECT dd of the same
#          bytes from leg A's data area to leg B's (4 MiB blocks; dd's own
#          time)
#   load:  p99 of a paced 4k random read/write load (1000 reads/s + 1000
#          writes/s, qd4) over the I/Os that completed while a resync
#          ran (fio's per-I/O latency log, pooled over the repetitions),
#          vs. the same load on the in-sync volume
. "$(dirname "$0")/benchlib.sh"
need_metro

: "${BENCH_RESYNC_MIB:=512}"
modprobe -r brd
modprobe brd rd_nr=2 rd_size=$((BENCH_RESYNC_MIB * 1024)) || fail "modprobe brd"
for i in $(seq 50); do [ -b /dev/ram1 ] && break; sleep 0.1; done
A=/dev/ram0 R=/dev/ram1 V=rs
SZ=$(blockdev --getsz $A)
prefill $A $R
must dmsetup create rs_b --table "0 $SZ linear $R 0"
wait_node /dev/mapper/rs_b
B=/dev/mapper/rs_b
must mc create $V $A $B --assume-clean --force
wait_node /dev/mapper/$V
VOL=/dev/mapper/$V
len=$(blockdev --getsz $VOL)
region=$(st_region $V)
total=$(st_sync $V); total=${total#*/}
quarter=$(((total / 4) * region))	# sectors: the first 25% of the regions
doff=$(data_offset $A)
log "volume: $len sectors, $total regions of $region sectors, data offset $doff; writing $quarter sectors while degraded"

set_b() {
	dmsetup load rs_b --table "0 $SZ $1" && dmsetup suspend rs_b && dmsetup resume rs_b
}
in_sync() { local s; s=$(st_sync $V); echo "${s%/*}"; }

# wait_clean: until no region is marked in the bitmap (the clearing pass
# runs every clear_delay, 5 s): regions marked by earlier writes, e.g. the
# load run over the whole volume, would all be resynced too
wait_clean() {
	local t=$SECONDS
	while [ "$(st_dirty $V)" != 0 ]; do
		[ $((SECONDS - t)) -lt 60 ] || fail "regions still dirty after 60 s: $(dmsetup status $V)"
		sleep 0.5
	done
}

# detach leg B under writes to the first quarter, write all of it, bring
# leg B back and restore it: the resync is left crawling at 1 KiB/s
detach_restore() {
	wait_clean
	must dmsetup message $V 0 resync_rate 1
	fio --name=deg --filename=$VOL --ioengine=libaio --direct=1 --rw=randwrite --bs=64k \
		--iodepth=16 --size=$((quarter * 512)) --time_based --runtime=3 \
		--output="$METRO_TMP/deg.out" &
	local fpid=$!
	sleep 1
	set_b error || fail "cannot fail leg B"
	wait $fpid || { cat "$METRO_TMP/deg.out"; fail "writes failed while leg B failed"; }
	[ "$(st_health $V)" = AD ] || fail "health $(st_health $V) after failing leg B"
	dd if=/dev/urandom of="$METRO_TMP/q.bin" bs=1M count=16 status=none
	local off
	for ((off = 0; off < quarter * 512; off += 16 * MIB)); do
		dd if="$METRO_TMP/q.bin" of=$VOL bs=1M oflag=direct,seek_bytes seek=$off conv=notrunc status=none ||
			fail "write while degraded"
	done
	set_b "linear $R 0" || fail "cannot bring leg B back"
	"$METROCTL" restore $V B > "$METRO_TMP/restore.out" 2>&1 || { cat "$METRO_TMP/restore.out"; fail "restore"; }
	cat "$METRO_TMP/restore.out"
	show_status $V
	oos=$((total - $(in_sync)))
	log "out of sync after restore: $oos of $total regions"
	[ "$oos" -ge $((total / 4 - 2)) ] || fail "only $oos regions out of sync"
	[ "$oos" -le $((total / 4 + 1)) ] || fail "$oos regions out of sync, expected about $((total / 4))"
}

# kts_after MARK TEXT: kernel timestamp (s) of the first dmesg line with
# TEXT after the last line with MARK
kts_after() {
	dmesg | awk -v m="$1" -v t="$2" 'index($0, m) { n = NR; f = "" }
		n && NR > n && f == "" && index($0, t) { f = $0 }
		END { print f }' | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}

# timed_resync TAG [PID]: start the resync, wait for it, then stop the fio
# PID (SIGINT: it reports); sets rs_secs, rs_bytes.  The time runs from a
# /dev/kmsg marker written just before `dmsetup message ... resync_rate 0`
# to the target's "resync complete" line, less the time such a dmsetup
# message takes to reach the kernel (exec of dmsetup under TCG), measured
# right after with a no-op message between two markers.
# The wait is `dmsetup wait` for the table event of the resync's end, not
# a status poll: each poll execs dmsetup, which under TCG takes CPU from
# the resync and from the load.  The first wait is started before the
# resync, so that no process starts while it runs but the one that sends
# the message.  Also sets rs_win_from_ms and rs_win_to_ms, the resync's
# start and end on the wall clock (ms), to place it among fio's logged
# I/Os: from the marker plus a message's time to the end.
timed_resync() {
	local s0 t0 t1 e0 e1 ev wpid mark="bench-resync-start-$1"
	s0=$(in_sync)
	ev=$(dmsetup info -c --noheadings -o events $V) || fail "dmsetup info"
	timeout 60 dmsetup wait $V "$ev" > /dev/null &
	wpid=$!
	# time to reach its ioctl (were it late, it would return at once: the
	# event count is past $ev)
	sleep 0.5
	rs_epoch_ms=$(date +%s%3N)
	echo "$mark" > /dev/kmsg
	dmsetup message $V 0 resync_rate 0 || fail "dmsetup message"
	wait $wpid || fail "no table event within 60 s: $(dmsetup status $V)"
	ev=$(dmsetup info -c --noheadings -o events $V)
	while [ "$(in_sync)" != "$total" ]; do
		timeout 60 dmsetup wait $V "$ev" > /dev/null || fail "no table event within 60 s: $(dmsetup status $V)"
		ev=$(dmsetup info -c --noheadings -o events $V)
	done
	[ -n "${2:-}" ] && kill -INT "$2"
	t0=$(kmsg_ts "$mark")
	t1=$(kts_after "$mark" "resync complete")
	[ -n "$t0" ] && [ -n "$t1" ] || { dmesg | tail; fail "no kernel timestamps for the resync"; }
	# the no-op message: resync_rate 0 again, bracketed by two markers
	echo "bench-msg-a-$1" > /dev/kmsg
	dmsetup message $V 0 resync_rate 0 || fail "dmsetup message"
	echo "bench-msg-b-$1" > /dev/kmsg
	e0=$(kmsg_ts "bench-msg-a-$1") e1=$(kmsg_ts "bench-msg-b-$1")
	msg_secs=$(calc "$e1 - $e0")
	rs_raw_secs=$(calc "$t1 - $t0")
	rs_secs=$(calc "$t1 - $t0 - $msg_secs")
	rs_bytes=$(((total - s0) * region * 512))
	rs_win_from_ms=$(calc "$rs_epoch_ms + $msg_secs * 1000" | cut -d. -f1)
	rs_win_to_ms=$(calc "$rs_epoch_ms + $rs_raw_secs * 1000" | cut -d. -f1)
	log "resync $1: $rs_bytes bytes in $rs_secs s ($rs_raw_secs s from the marker, less $msg_secs s for a dmsetup message)"
}

load="--rw=randrw --bs=4k --iodepth=4 --rate_iops=1000,1000 --size=$((len * 512))"
load_rec() {
	local out=$1; shift
	fio_rec "$out" read "$@" dir=read
	fio_rec "$out" write "$@" dir=write
}

# The latencies during the resyncs: fio's per-I/O latency log (unix epoch
# ms, total latency ns, direction 0 read / 1 write), cut to the I/Os that
# completed while a resync ran, pooled over the repetitions (a resync takes
# a fraction of a second: one alone holds a few hundred I/Os)
pool=$METRO_TMP/during.log pool_ms=0
: > "$pool"
window_cut() {	# LOG FROM_MS TO_MS
	awk -F', *' -v f="$2" -v t="$3" '$1 >= f && $1 <= t { print $2, $3 }' "$1" >> "$pool"
	pool_ms=$((pool_ms + $3 - $2))
}
# pool_rec KEY=VALUE...: IOPS, p50 and p99 of the pooled I/Os, per direction
pool_rec() {
	local d n p50 p99 vals
	for d in 0 1; do
		vals=$(awk -v d=$d '$2 == d { print $1 }' "$pool" | sort -n | awk '{ v[NR] = $1 } END {
				if (NR < 100) exit 1
				i50 = int(NR * 0.5 + 0.5); i99 = int(NR * 0.99 + 0.5)
				printf "%d %.1f %.1f\n", NR, v[i50] / 1000, v[i99] / 1000 }') ||
			fail "fewer than 100 I/Os logged during the resyncs"
		read -r n p50 p99 <<<"$vals"
		rec "$@" dir="$([ $d = 0 ] && echo read || echo write)" ios="$n" window_ms="$pool_ms" \
			iops="$(calc "$n * 1000 / $pool_ms")" p50_us="$p50" p99_us="$p99"
	done
}

for rep in $(seq "$BENCH_REPS"); do
	# --- idle legs ------------------------------------------------------
	detach_restore
	timed_resync idle
	rec scenario=resync_idle system=metro rep="$rep" bytes="$rs_bytes" secs="$rs_secs" \
		raw_secs="$rs_raw_secs" msg_secs="$msg_secs" mbps="$(calc "$rs_bytes / $rs_secs / 1000000")"
	wait_sync $V 60 > /dev/null
	# raw copy of as many bytes (the legs hold the same data now); the
	# time is dd's own (from its summary line: no exec cost)
	dd if=$A of=$R bs=4M iflag=direct,skip_bytes oflag=direct,seek_bytes \
		skip=$((doff * 512)) seek=$((doff * 512)) count=$((rs_bytes / 4194304)) \
		2> "$METRO_TMP/dd.err" || { cat "$METRO_TMP/dd.err"; fail "raw dd copy"; }
	cat "$METRO_TMP/dd.err"
	secs=$(sed -n 's/.* copied, \([0-9.e+-]*\) s,.*/\1/p' "$METRO_TMP/dd.err")
	[ -n "$secs" ] || fail "no time in dd's summary"
	rec scenario=resync_idle system=dd rep="$rep" bytes="$rs_bytes" secs="$secs" \
		mbps="$(calc "$rs_bytes / $secs / 1000000")"

	# --- foreground load without resync ---------------------------------
	# shellcheck disable=SC2086
	fio_run "$METRO_TMP/base.json" $VOL $load --runtime=4 || fail "fio baseline"
	load_rec "$METRO_TMP/base.json" scenario=resync_load system=no_resync rep="$rep"

	# --- foreground load during the resync ------------------------------
	detach_restore
	# the resync takes well under a second: the latencies are those fio
	# logged for the I/Os that completed between its start and its end
	rm -f "$METRO_TMP"/lat_*.log
	# shellcheck disable=SC2086
	fio --name=bench --filename=$VOL --ioengine=libaio --direct=1 --offset=0 --time_based \
		--runtime=300 --randrepeat=0 --norandommap --write_lat_log="$METRO_TMP/lat" \
		--log_unix_epoch=1 --output-format=json $load > "$METRO_TMP/load.json" 2>&1 &
	fpid=$!
	sleep 1
	timed_resync load $fpid
	# fio stops within a second of SIGINT unless its I/O hangs
	for i in $(seq 60); do kill -0 $fpid 2>/dev/null || break; sleep 0.5; done
	if kill -0 $fpid 2>/dev/null; then
		show_status $V
		dmsetup status rs_b
		for p in $(pgrep -x fio); do echo "fio $p: $(tr '\0' ' ' < /proc/$p/cmdline | cut -c1-60)"; cat /proc/$p/stack; done
		echo w > /proc/sysrq-trigger
		sleep 1
		dmesg | tail -n 120
		fail "fio did not stop 30 s after SIGINT: I/O stuck in the volume after the resync"
	fi
	wait $fpid
	window_cut "$METRO_TMP/lat_lat.1.log" "$rs_win_from_ms" "$rs_win_to_ms"
	log "resync load: $(wc -l < "$pool") I/Os logged during the resyncs so far"
	wait_sync $V 60 > /dev/null
done
pool_rec scenario=resync_load system=during_resync rep=pooled
legs_identical $A $R || fail "legs differ after the resyncs"
must mc stop $V
must dmsetup remove rs_b
pass
