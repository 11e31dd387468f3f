#!/bin/bash
# metroctl monitor reports a volume appearing, its leg B failing, the
# resync after restore and the volume going away, as JSON lines, and runs
# the --exec program with the report in its environment for each.
. "$(dirname "$0")/lib.sh"
need_metro

V=mon
sz=$(blockdev --getsz /dev/ram1)
linear_leg mon_b /dev/ram1
set_leg() { reload mon_b "0 $sz $1"; }

"$METROCTL" monitor $V --json --interval 0.2 \
	--exec 'echo "$METRO_EVENT $METRO_NAME $METRO_PREV_HEALTH>$METRO_HEALTH $METRO_SYNC_ACTION" >> hook.log' \
	> mon.json 2> mon.err &
mpid=$!
sleep 1
new_volume $V /dev/ram0 /dev/mapper/mon_b --region-size 1M
randfile pat 8
must write_file pat /dev/mapper/$V 0
sleep 1
set_leg error
must write_file pat /dev/mapper/$V 16
[ "$(st_health $V)" = AD ] || fail "leg B not detached"
sleep 1
set_leg "linear /dev/ram1 0"
must dmsetup message $V 0 resync_rate 2048
must mc restore $V B
sleep 1
must dmsetup message $V 0 resync_rate 0
wait_sync $V 60
sleep 1
must mc stop $V
sleep 1
kill -TERM $mpid
wait $mpid; rc=$?
cat mon.json; cat hook.log; cat mon.err
[ $rc = 0 ] || fail "monitor exited with $rc on SIGTERM"
ev() { jq -c --arg e "$1" --arg h "$2" 'select(.event == $e and .health == $h and .name == "mon")' mon.json | head -1; }
[ -n "$(ev present AA)" ] || fail "no report of the volume appearing"
[ -n "$(ev change AD)" ] || fail "no report of leg B failing"
[ "$(ev change AD | jq -r .sync_action)" = degraded ] || fail "the failure report does not say degraded"
[ -n "$(ev change Aa)" ] || fail "no report of the resync starting"
[ "$(jq -r 'select(.event == "change" and .health == "AA") | .previous_health' mon.json | tail -1)" = Aa ] ||
	fail "no report of the resync finishing"
[ -n "$(jq -c 'select(.event == "removed")' mon.json)" ] || fail "no report of the volume going away"
[ "$(wc -l < hook.log)" = "$(wc -l < mon.json)" ] || fail "--exec ran $(wc -l < hook.log) times for $(wc -l < mon.json) reports"
grep -q "^change mon AA>AD degraded\$" hook.log || fail "the --exec environment is wrong"
# --count: one report (the volume is gone, so: nothing) -> bounded by timeout
run timeout 2 "$METROCTL" monitor --count 1 $V
[ $? = 124 ] || fail "monitor --count 1 of an absent volume did not keep waiting"
must dmsetup remove mon_b
pass
