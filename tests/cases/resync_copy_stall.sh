#!/bin/bash
# A resync copy held by a stalled leg (its dm-linear suspended with
# --noflush) must be abandoned at the io_deadline like any other I/O: a
# suspend of the volume must not wait for it without a bound or a word.
# (1) The copy's write is held on the resync target, leg B: leg B is
# detached, "dmsetup suspend" of the volume finishes a few seconds after
# the deadline, a write into the region of the held copy completes; the
# held write is then released (it lands late, harmlessly), leg B is
# restored and resynced, legs compared.  (2) The copy's read is held on
# the source, leg A, which cannot be detached while leg B is stale: the
# suspend must finish or say in the kernel log what it waits for within
# a few seconds of the deadline, leg A stays attached, the resync stops
# with a message; once leg A returns, the resync completes.
# Every wait is bounded; the checks are collected (problem) so that the
# held legs are always released before the case ends.
. "$(dirname "$0")/lib.sh"
need_metro

DEADLINE=1000	# io_deadline, ms
RATE=10240	# resync_rate, KiB/s: one 1 MiB region every 0.1 s
BOUND=10	# s from the volume's suspend to its end (or to a log line)
problems=()
problem() { echo "PROBLEM: $*"; problems+=("$*"); }
# end_if_problems: fail with every problem found so far
end_if_problems() {
	[ ${#problems[@]} = 0 ] && return 0
	local all
	all=$(printf '%s; ' "${problems[@]}")
	fail "${all%; }"
}

# kmark TAG: a line in the kernel log; since TAG: the kernel log after it
kmark() { echo "metro-test: $1" > /dev/kmsg; }
since() { dmesg | awk -v m="metro-test: $1" 'f { print } index($0, m) { f = 1 }'; }

# gone PID SECS: PID (a child) exited within SECS seconds
gone() {
	local i n=$(($2 * 10))
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}
# stuck_info PID: where a process waits, and the kernel's metro lines
stuck_info() {
	echo "process $1: state $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null), kernel stack:"
	sed 's/^/    /' "/proc/$1/stack" 2>/dev/null
	local p
	for p in $(grep -l metro_ /proc/[0-9]*/stack 2>/dev/null); do
		p=${p#/proc/}; p=${p%/stack}
		[ "$p" = "$1" ] && continue
		echo "task $p ($(cat "/proc/$p/comm" 2>/dev/null)) in dm-metro:"
		sed 's/^/    /' "/proc/$p/stack" 2>/dev/null
	done
}
# fill_legs A B: leg A gets a 1 MiB random pattern (file pa) at every
# MiB, leg B other random data: the resync has something to copy
fill_legs() {
	local i
	randfile pa 1
	for ((i = 0; i < 128; i++)); do
		dd if=pa of="$1" bs=1M seek=$i oflag=direct conv=notrunc status=none
	done
	must dd if=/dev/urandom of="$2" bs=1M count=128 oflag=direct status=none
}
# resyncing V: wait until V's initial sync runs and copied a few regions
resyncing() {
	local i s
	for i in $(seq 100); do
		s=$(st_sync "$1")
		[ "${s%/*}" -ge 3 ] && break
		sleep 0.1
	done
	show_status "$1"
	[ "$(st_action "$1")" = resync ] || fail "$1: no resync running: $(dmsetup status "$1")"
	s=$(st_sync "$1")
	[ "${s%/*}" -ge 3 ] && [ "${s%/*}" -le $((${s#*/} - 30)) ] ||
		fail "$1: resync at $s: expected under way and far from done at $RATE KiB/s"
}
# late_fields V: the fields after <eta>, if any (<late_a> <late_b> once
# the target counts abandoned I/O; logged, not required)
late_fields() { dmsetup status "$1" | awk '$3 == "metro" && NF > 15 { print "late_a " $16 ", late_b " $17 }'; }

# ---------------------------------------------------------------------------
log "== 1. the copy's write held on leg B, the resync target"
V=rcs
A=/dev/ram0 B=/dev/mapper/rcs_b
linear_leg rcs_b /dev/ram1
fill_legs $A /dev/ram1
must mc create $V $A $B --region-size 1M --resync-rate $RATE --io-deadline $DEADLINE
wait_node /dev/mapper/$V
dmsetup table $V | grep -q "io_deadline $DEADLINE" || fail "io_deadline not in the table: $(dmsetup table $V)"
resyncing $V
kmark rcs-stall
must dmsetup suspend --noflush rcs_b
t0=$SECONDS
# from now on leg B's dm-linear holds what it gets: counted once resumed
w0=$(blk_stat $B 7)
log "leg B's dm-linear suspended at $(st_sync $V): the copies' writes are held"
# a region is taken every 0.1 s: copies are in flight and held now
sleep 0.4
dmsetup suspend $V > susp.out 2>&1 &
spid=$!
ts=$SECONDS
if gone $spid $BOUND; then
	wait $spid || problem "dmsetup suspend $V failed: $(cat susp.out)"
	log "dmsetup suspend $V returned $((SECONDS - ts))s after it started ($((SECONDS - t0))s into the stall)"
	suspended_ok=1
else
	echo "dmsetup suspend $V still running $((SECONDS - ts))s after it started ($((SECONDS - t0))s into the stall):"
	stuck_info $spid
	problem "dmsetup suspend $V did not finish within ${BOUND}s with a resync copy held on leg B (io_deadline $DEADLINE ms)"
	suspended_ok=0
fi
show_status $V
echo "kernel log since the stall:"
since rcs-stall | grep -v 'metro-test:' | sed 's/^/    /'
[ "$(st_health $V)" = AD ] || problem "leg B not detached by the held copy: health $(st_health $V)"
since rcs-stall | grep -q "metro: $V: leg B .*failed on .*\(I/O deadline\|did not complete\)\|metro: $V: metadata write to leg B .*did not complete" ||
	problem "the kernel log does not say that leg B was detached on its I/O deadline"
lf=$(late_fields $V); [ -n "$lf" ] && log "status: $lf"
if [ $suspended_ok = 0 ]; then
	# release the held copies, so that the suspend can end and the case
	# go on to part 2; the rest of part 1 would prove nothing now
	must dmsetup resume rcs_b
	if gone $spid 20; then
		wait $spid
		log "the suspend returned $((SECONDS - ts))s after it started, once leg B's dm-linear was resumed"
	else
		stuck_info $spid
		problem "dmsetup suspend $V still hangs after leg B's dm-linear was resumed"
	fi
	show_status $V
	dmsetup info $V | grep -q SUSPENDED && run timeout 20 dmsetup resume $V
	run timeout 20 "$METROCTL" stop $V
	log "part 1 failed; on to part 2"
else
	must timeout 20 dmsetup resume $V
	# regions after in_sync were taken for copying while leg B stalled: a
	# write into them must not wait for the copies abandoned there
	s=$(st_sync $V); k=${s%/*}
	randfile p2 8
	log "write 8 MiB at $k MiB, over the regions of the held copies"
	timeout 20 dd if=p2 of=/dev/mapper/$V bs=1M seek=$k oflag=direct conv=notrunc,fsync status=none ||
		problem "a write into the regions of the held copies failed or waited 20 s: they were not abandoned"
	lf=$(late_fields $V); [ -n "$lf" ] && log "status: $lf"
	# the held copies complete now, on the detached leg B
	must dmsetup resume rcs_b
	sleep 1
	w1=$(blk_stat $B 7)
	log "leg B's dm-linear wrote $((w1 - w0)) sectors once resumed (a copy chunk is 1024)"
	[ $((w1 - w0)) -ge 1024 ] || problem "no copy's write was held on leg B ($((w1 - w0)) sectors released): the case proved nothing"
	[ "$(st_health $V)" = AD ] || problem "health $(st_health $V) after the late completion of the held copies, expected AD"
	lf=$(late_fields $V); [ -n "$lf" ] && log "status: $lf"
	ok=0
	for i in $(seq 20); do
		mc restore $V B && { ok=1; break; }
		sleep 1
	done
	[ $ok = 1 ] || fail "metroctl restore $V B refused for 20 s after the held copies completed"
	must dmsetup message $V 0 resync_rate 0
	wait_sync $V 120
	must mc stop $V
	legs_identical $A /dev/ram1 || problem "legs differ after the resync"
	must mc assemble $V $A $B
	wait_node /dev/mapper/$V
	check_file p2 /dev/mapper/$V $k || problem "the write into the held copies' regions reads back wrong"
	# everywhere but the 8 MiB written at $k: in_sync counts regions, it
	# is no position, so $k may be anywhere, 0 included
	for mib in 0 1 $((k - 1)) $((k + 8)) $((k + 12)) 100 126; do
		[ $mib -ge 0 ] && [ $mib -le 126 ] || continue
		[ $mib -ge $k ] && [ $mib -lt $((k + 8)) ] && continue
		check_file pa /dev/mapper/$V $mib || problem "volume at $mib MiB is not leg A's content after the resync"
	done
	must mc stop $V
	log "part 1 done"
fi
must dmsetup remove rcs_b

# ---------------------------------------------------------------------------
log "== 2. the copy's read held on leg A, the resync source (leg B stale)"
V=rcs2
A=/dev/mapper/rcs2_a B=/dev/ram3
linear_leg rcs2_a /dev/ram2
fill_legs $A $B
must mc create $V $A $B --region-size 1M --resync-rate $RATE --io-deadline $DEADLINE
wait_node /dev/mapper/$V
resyncing $V
kmark rcs2-stall
must dmsetup suspend --noflush rcs2_a
t0=$SECONDS
r0=$(blk_stat $A 3)
log "leg A's dm-linear suspended at $(st_sync $V): the copies' reads are held"
sleep 0.4
dmsetup suspend $V > susp2.out 2>&1 &
spid=$!
ts=$SECONDS
said=
for ((i = 0; i < BOUND * 10; i++)); do
	kill -0 $spid 2>/dev/null || break
	said=$(since rcs2-stall | grep -i "metro: $V: .*wait" | head -n 3)
	[ -n "$said" ] && break
	sleep 0.1
done
if ! kill -0 $spid 2>/dev/null; then
	wait $spid || problem "dmsetup suspend $V failed: $(cat susp2.out)"
	log "dmsetup suspend $V returned $((SECONDS - ts))s after it started ($((SECONDS - t0))s into the stall)"
	suspended_ok=1
elif [ -n "$said" ]; then
	log "dmsetup suspend $V waits; $((SECONDS - ts))s after it started the kernel says: $said"
	suspended_ok=0
else
	echo "dmsetup suspend $V still running $((SECONDS - ts))s after it started ($((SECONDS - t0))s into the stall), nothing in the kernel log:"
	stuck_info $spid
	problem "dmsetup suspend $V neither finished nor said in the kernel log what it waits for within ${BOUND}s, with a resync copy's read held on the source leg A"
	suspended_ok=0
fi
show_status $V
h=$(st_health $V)
[ "${h:0:1}" = A ] || problem "the source leg A was detached ($h) while leg B holds no complete copy"
[ "${h:1:1}" = D ] && log "note: leg B, whose I/O did not stall, was detached ($h)"
lf=$(late_fields $V); [ -n "$lf" ] && log "status: $lf"
must dmsetup resume rcs2_a
if [ $suspended_ok = 0 ]; then
	if gone $spid 20; then
		wait $spid
		log "the suspend returned $((SECONDS - ts))s after it started, once leg A's dm-linear was resumed"
	else
		stuck_info $spid
		problem "dmsetup suspend $V still hangs after leg A's dm-linear was resumed"
	fi
fi
sleep 1
r1=$(blk_stat $A 3)
log "leg A's dm-linear read $((r1 - r0)) sectors once resumed (a copy chunk is 1024)"
[ $((r1 - r0)) -ge 1024 ] || problem "no copy's read was held on leg A ($((r1 - r0)) sectors released): the case proved nothing"
echo "kernel log since the stall:"
since rcs2-stall | grep -v 'metro-test:' | sed 's/^/    /'
since rcs2-stall | grep -qi "metro: $V: .*resync" ||
	problem "nothing in the kernel log about the resync after its copy's read stalled on the source"
dmsetup info $V | grep -q SUSPENDED && must timeout 20 dmsetup resume $V
show_status $V
# carry on from wherever the resync stopped
case $(st_health $V) in
AD) for i in $(seq 20); do mc restore $V B && break; sleep 1; done ;;
DA | DD) fail "leg A detached: $(dmsetup status $V)" ;;
esac
[ "$(st_action $V)" = frozen ] && must dmsetup message $V 0 resume_resync
must dmsetup message $V 0 resync_rate 0
wait_sync $V 120
must mc stop $V
legs_identical $A $B || problem "legs differ after the resync"
must mc assemble $V $A $B
wait_node /dev/mapper/$V
for mib in 0 1 50 100 126; do
	check_file pa /dev/mapper/$V $mib || problem "volume at $mib MiB is not leg A's content after the resync"
done
must mc stop $V
must dmsetup remove rcs2_a
end_if_problems
pass "held copies: the suspend ended within ${BOUND}s or said what it waits for; legs identical after the resync"
