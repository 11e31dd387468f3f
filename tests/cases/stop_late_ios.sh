#!/bin/bash
# Run: tests/vm/run.sh stop_late_ios
# The late I/Os of a leg (status fields <late_a> <late_b>, target 1.7) as
# metroctl shows them.  Leg B is on NBD; its nbd-server is stopped
# (SIGSTOP, nbd-client with no timeout) under writes, so that io_deadline
# detaches leg B and abandons its writes, which the device still holds:
# metroctl status shows them (text, and "late_ios" in the JSON), and
# metroctl stop, which returns at once, names leg B's device and the count.
# Once the server runs again the device returns them and the volume
# assembles again on both legs.  With a module before target 1.7 the
# JSON has null there, stop says nothing of late I/Os, and the case skips.
. "$(dirname "$0")/lib.sh"
need_metro
M=$METROCTL

command -v nbd-server >/dev/null && command -v nbd-client >/dev/null ||
	skip "nbd-server/nbd-client not installed"
modprobe nbd nbds_max=2 2>/dev/null
[ -b /dev/nbd0 ] || skip "no NBD support in this kernel"
V=sl A=/dev/ram0 B=/dev/nbd0
truncate -s 128M legb.img
printf '[generic]\n\tlistenaddr = 127.0.0.1\n\tport = 10809\n[legb]\n\texportname = %s\n' \
	"$METRO_TMP/legb.img" > nbd.conf
cleanup() {
	pkill -CONT -x nbd-server 2>/dev/null
	dmsetup remove $V 2>/dev/null
	nbd-client -d $B >/dev/null 2>&1
	pkill -x nbd-server 2>/dev/null
}
trap cleanup EXIT
must nbd-server -C "$METRO_TMP/nbd.conf"
sleep 1
must nbd-client 127.0.0.1 10809 $B -N legb -b 4096
must blockdev --getsz $B
new_volume $V $A $B --io-deadline 1000
randfile data 4
must write_file data /dev/mapper/$V 0

# held open here: no process that gives up on it is its last closer
exec {hold}<$B
must pkill -STOP -x nbd-server
must timeout 60 dd if=data of=/dev/mapper/$V bs=64k seek=64 oflag=direct conv=fsync status=none
[ "$(st_health $V)" = AD ] || fail "leg B not detached: $(dmsetup status $V)"
show_status $V
nf=$(dmsetup status $V | awk '{print NF}')
js=$(status_json $V)
echo "$js"
mc status $V

if [ "$nf" -lt 17 ]; then
	# a module before target 1.7: the late I/Os are not reported
	[ "$(jq -r '.legs[1].late_ios' <<<"$js")" = null ] || fail "late_ios not null with a module that does not report them"
	# such a module waits for the abandoned I/O at removal: let it return first
	must pkill -CONT -x nbd-server
	out=$(timeout 60 "$M" stop $V 2>&1) || fail "stop failed: $out"
	echo "$out"
	grep -q "abandoned" <<<"$out" && fail "stop spoke of late I/Os the module does not report"
	exec {hold}<&-
	skip "the module reports no late I/Os (target before 1.7): only the null of status --json checked"
fi

late_b=$(dm_st $V 17)
[ "$late_b" -gt 0 ] 2>/dev/null || fail "no late I/O on the stalled leg B: $(dmsetup status $V)"
[ "$(dm_st $V 16)" = 0 ] || fail "late I/Os on leg A: $(dmsetup status $V)"
[ "$(jq -r '.legs[1].late_ios' <<<"$js")" = "$late_b" ] || fail "status --json: late_ios of leg B is not $late_b"
[ "$(jq -r '.legs[0].late_ios' <<<"$js")" = 0 ] || fail "status --json: late_ios of leg A is not 0"
out=$("$M" status $V) || fail "status failed"
grep -q "leg B: $late_b I/Os\? abandoned on the I/O deadline" <<<"$out" || fail "status does not show leg B's late I/Os"
grep -q "leg A: .* abandoned" <<<"$out" && fail "status shows late I/Os on leg A"

t0=$SECONDS
out=$(timeout 60 "$M" stop $V 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || fail "stop failed ($rc) with leg B's I/O held"
[ $((SECONDS - t0)) -le 10 ] || fail "stop took $((SECONDS - t0)) s with leg B's I/O held"
grep -q "leg B ($B): $late_b I/Os\? abandoned on the I/O deadline .* still held by the device" <<<"$out" ||
	fail "stop did not name leg B's device and its late I/Os"
grep -q "leg A (" <<<"$out" && fail "stop named leg A"

must pkill -CONT -x nbd-server
exec {hold}<&-
# the device returns them; then a table may use it again
for i in $(seq 100); do
	"$M" assemble $V $A $B > "$METRO_TMP/asm.out" 2>&1 && break
	sleep 0.1
done
cat "$METRO_TMP/asm.out"
[ -b /dev/mapper/$V ] || fail "no assembly 10 s after the server came back"
wait_sync $V 120
check_file data /dev/mapper/$V 0 || fail "data wrong after the resync"
check_file data /dev/mapper/$V 4 || fail "data written with leg B stalled lost"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
pass
