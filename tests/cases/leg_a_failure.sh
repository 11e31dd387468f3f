#!/bin/bash
# Leg A (behind dm-linear) starts failing every I/O (dm-flakey, always down)
# during writes: writes and reads go on without errors on leg B, status
# shows DA, metroctl status --json says leg A failed, the data is correct.
. "$(dirname "$0")/lib.sh"
need_metro

sz=$(blockdev --getsz /dev/ram0)
must dmsetup create la_a --table "0 $sz linear /dev/ram0 0"
wait_node /dev/mapper/la_a
A=/dev/mapper/la_a B=/dev/ram1 V=la
must mc create $V $A $B --assume-clean
wait_node /dev/mapper/$V
show_status $V
randfile pat1 8
must write_file pat1 /dev/mapper/$V 4

fio --name=law --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randwrite \
	--bsrange=4k-64k --iodepth=16 --offset=32M --size=32M --runtime=8 --time_based \
	--output="$METRO_TMP/fio-w.out" &
wpid=$!
fio --name=lar --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randread \
	--bs=4k --iodepth=16 --offset=0 --size=24M --runtime=8 --time_based \
	--output="$METRO_TMP/fio-r.out" &
rpid=$!
sleep 3
if ! run dmsetup load la_a --table "0 $sz flakey /dev/ram0 0 0 3600"; then
	must dmsetup load la_a --table "0 $sz error"
fi
must dmsetup suspend la_a
must dmsetup resume la_a
log "leg A now fails every I/O: $(dmsetup table la_a)"
wait $wpid; wrc=$?
wait $rpid; rrc=$?
grep -E 'write:|read:|err=' "$METRO_TMP/fio-w.out" "$METRO_TMP/fio-r.out"
[ $wrc = 0 ] || { cat "$METRO_TMP/fio-w.out"; fail "writes failed ($wrc) when leg A failed"; }
[ $rrc = 0 ] || { cat "$METRO_TMP/fio-r.out"; fail "reads failed ($rrc) when leg A failed"; }

randfile pat2 8
must write_file pat2 /dev/mapper/$V 16
fio_verify_write /dev/mapper/$V 72M 8M || fail "fio verify after the failure"
show_status $V
h=$(st_health $V)
[ "$h" = DA ] || fail "health is '$h', expected DA"
js=$(status_json $V) || fail "metroctl status --json failed"
log "metroctl status: $js"
[ "$(jq -r '.legs[] | select(.role == "A") | .health' <<<"$js")" = failed ] || fail "metroctl status does not say leg A failed"
[ "$(jq -r '.legs[] | select(.role == "B") | .health' <<<"$js")" = in_sync ] || fail "metroctl status does not say leg B in_sync"
check_file pat1 /dev/mapper/$V 4 || fail "data written before the failure reads back wrong"
check_file pat2 /dev/mapper/$V 16 || fail "data written after the failure reads back wrong"
off=$(data_offset $B)
cmp pat2 <(dd if=$B iflag=direct,skip_bytes,count_bytes bs=1M skip=$((off * 512 + 16 * MIB)) count=$((8 * MIB)) status=none) ||
	fail "leg B does not hold the data written after the failure"
ra0=$(st_reads_a $V)
must dd if=/dev/mapper/$V of=/dev/null bs=64k count=256 iflag=direct status=none
[ "$(st_reads_a $V)" = "$ra0" ] || fail "the dead leg A still served reads"
run mc stop $V || fail "metroctl stop of a degraded volume failed"
pass
