#!/bin/bash
# Run: tests/vm/run.sh incremental_dead_dev
# "metroctl incremental" (what 60-dm-metro.rules runs) with a network block
# device present that does not answer: two NBD devices whose nbd-server is
# stopped (SIGSTOP; nbd-client set no timeout, so their reads wait for
# ever).  /dev/nbd0 carries nothing, /dev/nbd1 is leg B of volume "ddn".
# Without udev (the test VM) incremental reads the superblock of every
# block device; a device that does not answer within 2 s is skipped with a
# message naming it, so that:
#  - incremental of a leg of "ddv" (both legs on ramdisks) returns within a
#    few seconds and assembles it;
#  - incremental of leg A of "ddn" says it waits for leg B and names nbd1;
#  - incremental of nbd1 itself fails within a few seconds, saying so;
#  - once the server runs again, the readers left behind end and
#    incremental of nbd1 assembles "ddn".
. "$(dirname "$0")/lib.sh"
need_metro
M=$METROCTL

command -v nbd-server >/dev/null && command -v nbd-client >/dev/null ||
	skip "nbd-server/nbd-client not installed"
modprobe nbd nbds_max=2 2>/dev/null
# loaded earlier in this boot with fewer devices: load it again
[ -b /dev/nbd1 ] || { rmmod nbd 2>/dev/null && modprobe nbd nbds_max=2; }
[ -b /dev/nbd1 ] || skip "no NBD support in this kernel"
# how long incremental may take with dead devices present (the probe waits
# 2 s for them, in parallel; the rest is process start-up under TCG)
LIMIT=${METRO_DEAD_DEV_LIMIT:-8}
# Exported from files, not block devices: the scan must not find leg B
# on the device behind the export.
truncate -s 128M junk.img legb.img
cat > nbd.conf <<EOC
[generic]
	listenaddr = 127.0.0.1
	port = 10809
[junk]
	exportname = $METRO_TMP/junk.img
[legb]
	exportname = $METRO_TMP/legb.img
EOC
cleanup() {
	pkill -CONT -x nbd-server 2>/dev/null
	dmsetup remove ddv 2>/dev/null
	dmsetup remove ddn 2>/dev/null
	nbd-client -d /dev/nbd0 >/dev/null 2>&1
	nbd-client -d /dev/nbd1 >/dev/null 2>&1
	pkill -x nbd-server 2>/dev/null
}
trap cleanup EXIT
must nbd-server -C "$METRO_TMP/nbd.conf"
sleep 1
must nbd-client 127.0.0.1 10809 /dev/nbd0 -N junk -b 4096
must nbd-client 127.0.0.1 10809 /dev/nbd1 -N legb -b 4096
# the first open scans the partition table: done while the server answers
must blockdev --getsz /dev/nbd0 /dev/nbd1

must mc create ddv /dev/ram0 /dev/ram1 --assume-clean
must mc stop ddv
must mc create ddn /dev/ram3 /dev/nbd1 --assume-clean
must mc stop ddn

# Held open here, so that no process that gave up on them is their last
# closer (the last close of a block device waits, unkillable, for the page
# cache reads in flight).
exec {hold0}</dev/nbd0 {hold1}</dev/nbd1
echo 3 > /proc/sys/vm/drop_caches
must pkill -STOP -x nbd-server
# the devices really do not answer: a read started now still waits in 2 s
dd if=/dev/nbd0 of=/dev/null bs=4k count=1 skip=4000 status=none &
deadread=$!
sleep 2
kill -0 $deadread 2>/dev/null || fail "a read of /dev/nbd0 returned with its server stopped"
log "a read of /dev/nbd0 still waits 2 s after the server stopped"

# timed CMD...: run it under a 60 s timeout; $out (stdout+stderr), $rc, $took (s)
timed() {
	local t0 t1
	echo "+ $*"
	t0=$(date +%s%N)
	out=$(timeout 60 "$@" 2>&1)
	rc=$?
	t1=$(date +%s%N)
	took=$(( (t1 - t0) / 1000000 ))
	took=$(printf '%d.%03d' $((took / 1000)) $((took % 1000)))
	echo "$out"
	log "exit $rc after ${took}s"
	[ $rc = 124 ] && fail "'$*' did not return within 60 s with a dead device present"
	awk -v t="$took" -v l="$LIMIT" 'BEGIN { exit !(t <= l) }' ||
		fail "'$*' took ${took}s with dead devices present (limit ${LIMIT}s)"
}

log "1. both legs of ddv present, two dead devices"
timed "$M" incremental /dev/ram0
[ $rc = 0 ] || fail "incremental /dev/ram0 failed ($rc)"
grep -q "/dev/nbd0 did not answer" <<<"$out" || fail "incremental did not name the dead /dev/nbd0"
[ -b /dev/mapper/ddv ] || wait_node /dev/mapper/ddv
[ "$(st_health ddv)" = AA ] || fail "ddv not assembled on both legs: $(dmsetup status ddv)"
t1=$took

log "2. leg A of ddn present, its leg B on the dead /dev/nbd1"
timed "$M" incremental /dev/ram3
[ $rc = 0 ] || fail "incremental /dev/ram3 failed ($rc)"
grep -q "/dev/nbd1 did not answer" <<<"$out" || fail "incremental did not name the dead /dev/nbd1"
grep -q "waiting for leg B" <<<"$out" || fail "incremental did not say it waits for leg B"
dmsetup info ddn >/dev/null 2>&1 && fail "ddn was activated with its leg B dead"

log "3. incremental of the dead leg itself"
timed "$M" incremental /dev/nbd1
[ $rc = 1 ] || fail "incremental /dev/nbd1 returned $rc, expected 1"
grep -q "/dev/nbd1 did not answer" <<<"$out" || fail "incremental did not say /dev/nbd1 does not answer"
dmsetup info ddn >/dev/null 2>&1 && fail "ddn was activated from a dead leg"

log "4. the server runs again"
must pkill -CONT -x nbd-server
for i in $(seq 100); do kill -0 $deadread 2>/dev/null || break; sleep 0.1; done
kill -0 $deadread 2>/dev/null && fail "the read of /dev/nbd0 still waits 10 s after the server came back"
# the probes that gave up on the devices were left reading: they end now
for i in $(seq 100); do pgrep -x metroctl >/dev/null || break; sleep 0.1; done
pgrep -x metroctl >/dev/null && { ps -o pid,stat,wchan:30,args -C metroctl; fail "metroctl processes left 10 s after the devices answer again"; }
exec {hold0}<&- {hold1}<&-
must mc incremental /dev/nbd1
[ -b /dev/mapper/ddn ] || wait_node /dev/mapper/ddn
[ "$(st_health ddn)" = AA ] || fail "ddn not assembled on both legs: $(dmsetup status ddn)"
must mc stop ddn
must mc stop ddv
log "incremental took ${t1}s with two dead devices present (limit ${LIMIT}s)"
pass
