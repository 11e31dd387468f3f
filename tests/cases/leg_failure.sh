#!/bin/bash
# Leg B behind dm-linear is switched to the error target during writes: the
# volume keeps accepting writes without errors, status shows AD, metroctl
# status --json says failed, and the data reads back correctly.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/mapper/lf_b V=lf
sz=$(blockdev --getsz /dev/ram1)
linear_leg lf_b /dev/ram1
new_volume $V $A $B
show_status $V

randfile pat1 8
must write_file pat1 /dev/mapper/$V 4

# writes and reads running while leg B dies
fio --name=lfw --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randwrite \
	--bsrange=4k-64k --iodepth=16 --offset=32M --size=32M --runtime=8 --time_based \
	--output="$METRO_TMP/fio-w.out" &
wpid=$!
fio --name=lfr --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randread \
	--bs=4k --iodepth=16 --offset=0 --size=24M --runtime=8 --time_based \
	--output="$METRO_TMP/fio-r.out" &
rpid=$!
sleep 3
must dmsetup load lf_b --table "0 $sz error"
must dmsetup suspend lf_b
must dmsetup resume lf_b
log "leg B now returns errors"
wait $wpid; wrc=$?
wait $rpid; rrc=$?
grep -E 'write:|read:|err=' "$METRO_TMP/fio-w.out" "$METRO_TMP/fio-r.out"
[ $wrc = 0 ] || { cat "$METRO_TMP/fio-w.out"; fail "writes failed ($wrc) when leg B failed"; }
[ $rrc = 0 ] || { cat "$METRO_TMP/fio-r.out"; fail "reads failed ($rrc) when leg B failed: a read error on B was not retried on the healthy leg A"; }
check_file pat1 /dev/mapper/$V 4 || fail "data written before the failure reads back wrong"

# more writes after the failure
randfile pat2 8
must write_file pat2 /dev/mapper/$V 16
fio_verify_write /dev/mapper/$V 72M 8M || fail "fio verify after the failure"
show_status $V
h=$(st_health $V)
[ "$h" = AD ] || fail "health is '$h', expected AD"
js=$(status_json $V) || fail "metroctl status --json failed"
log "metroctl status: $js"
hb=$(jq -r '.legs[] | select(.role == "B") | .health' <<<"$js")
ha=$(jq -r '.legs[] | select(.role == "A") | .health' <<<"$js")
[ "$hb" = failed ] || fail "metroctl status says leg B is '$hb', expected failed"
[ "$ha" = in_sync ] || fail "metroctl status says leg A is '$ha', expected in_sync"
check_file pat1 /dev/mapper/$V 4 || fail "data written before the failure reads back wrong"
check_file pat2 /dev/mapper/$V 16 || fail "data written after the failure reads back wrong"
off=$(data_offset $A)
cmp pat2 <(dd if=$A iflag=direct,skip_bytes,count_bytes bs=1M skip=$((off * 512 + 16 * MIB)) count=$((8 * MIB)) status=none) ||
	fail "leg A does not hold the data written after the failure"
# reads now come from leg A only
rb0=$(st_reads_b $V)
must dd if=/dev/mapper/$V of=/dev/null bs=64k count=256 iflag=direct status=none
[ "$(st_reads_b $V)" = "$rb0" ] || fail "the dead leg B still served reads"
run mc stop $V || fail "metroctl stop of a degraded volume failed"
pass
