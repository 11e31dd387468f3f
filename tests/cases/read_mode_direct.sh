#!/bin/bash
# read_mode direct: reads go into the reader's pages (no bounce copy).  With
# leg B stalled (its dm-linear suspended with --noflush), a read held by
# leg B alone (no write in flight) gets leg B detached by the I/O deadline;
# the read is waited for (not abandoned) and completes with the right data
# once leg B returns it; writes and reads sent after the detach go to leg
# A without waiting.  The option is set by metroctl create and set,
# shown by status and examine, recorded on the legs and loaded again by
# assemble; read_mode bounce and auto replace it.  Then a restore, and the legs
# are compared.
. "$(dirname "$0")/lib.sh"
need_metro

V=rd
A=/dev/ram0 B=/dev/mapper/rd_b
linear_leg rd_b /dev/ram1
recorded() { examine_json "$1" | jq -r ".table_options.$2"; }

new_volume $V $A $B --region-size 1M --read-mode direct
dmsetup table $V | grep -q "read_mode direct" || fail "read_mode direct not in the table: $(dmsetup table $V)"
# write_mostly A: every read goes to leg B first, the leg about to stall
must mc set $V --io-deadline 1000 --write-mostly A
dmsetup table $V | grep -q "io_deadline 1000 write_mostly A read_mode direct" ||
	fail "metroctl set lost read_mode: $(dmsetup table $V)"
[ "$(status_json $V | jq -r '.table_options.read_mode')" = direct ] ||
	fail "status --json does not show read_mode direct: $(status_json $V)"
[ "$(recorded $A read_mode)" = direct ] || fail "leg A does not record read_mode direct"
randfile base 32
must write_file base /dev/mapper/$V 0

# 1. a read held by the stalled leg B, then a write and a read after the detach
rb0=$(st_reads_b $V)
must dmsetup suspend --noflush rd_b
held=$METRO_TMP/held
t0=${EPOCHREALTIME/./}
dd if=/dev/mapper/$V of="$held" bs=1M skip=4 count=1 iflag=direct status=none &
rpid=$!
sleep 0.5
[ "$(st_reads_b $V)" -gt "$rb0" ] || fail "the read did not go to leg B: the check proves nothing"
# Nothing else is in flight: only the read can show the deadline that leg B
# stalls.  Within 4 s: the bitmap clearing pass (clear_delay 5 s after the
# last write) would find the stall too, but later (8.5 s when the watchdog
# ignored reads).
for i in $(seq 40); do [ "$(st_health $V)" = AD ] && break; sleep 0.1; done
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
[ "$(st_health $V)" = AD ] || fail "leg B not detached by the deadline with a read held, ${ms} ms after it: $(st_health $V)"
log "leg B detached ${ms} ms after the read it holds was sent (deadline 1000 ms)"
[ $ms -ge 1000 ] || fail "leg B detached after ${ms} ms, before the deadline"
[ $ms -le 4000 ] || fail "leg B detached after ${ms} ms: not by the read's deadline"
randfile w1 1
t0=$SECONDS
must timeout 20 dd if=w1 of=/dev/mapper/$V bs=1M seek=40 oflag=direct conv=fsync status=none
log "write with leg B stalled and detached took $((SECONDS - t0))s"
[ $((SECONDS - t0)) -le 3 ] || fail "the write waited $((SECONDS - t0))s for the detached leg"
sleep 2
kill -0 $rpid 2>/dev/null || fail "the read held by the stalled leg completed: it was abandoned, not waited for"
# after the detach, reads go to leg A and do not wait
t0=$SECONDS
must timeout 10 dd if=/dev/mapper/$V of="$METRO_TMP/after" bs=1M skip=8 count=1 iflag=direct status=none
cmp "$METRO_TMP/after" <(dd if=base bs=1M skip=8 count=1 status=none) ||
	fail "a read after the detach returned wrong data"
must dmsetup resume rd_b
wait $rpid || fail "the held read failed once leg B returned it"
cmp "$held" <(dd if=base bs=1M skip=4 count=1 status=none) || fail "the held read returned wrong data"
check_file w1 /dev/mapper/$V 40 || fail "the write made while leg B stalled reads back wrong"

# 2. recorded: a new assembly loads read_mode direct again
must mc restore $V B
wait_sync $V 120
must mc stop $V
must mc assemble $V $A $B
wait_node /dev/mapper/$V
dmsetup table $V | grep -q "read_mode direct" || fail "assemble did not load the recorded read_mode"
check_file base /dev/mapper/$V 0 || fail "data wrong after the resync"
check_file w1 /dev/mapper/$V 40 || fail "data wrong after the resync"
fio_verify_write /dev/mapper/$V 60M 16M || fail "fio verify with read_mode direct"

# 3. bounce, then back to the default (auto: no leg of two ramdisks bounces)
must mc set $V --read-mode bounce
dmsetup table $V | grep -q "read_mode bounce" || fail "read_mode bounce not in the table: $(dmsetup table $V)"
[ "$(recorded $A read_mode)" = bounce ] || fail "leg A does not record read_mode bounce"
must mc set $V --read-mode auto
dmsetup table $V | grep -q "read_mode" && fail "read_mode auto is the default and must not be in the table: $(dmsetup table $V)"
[ "$(recorded $A read_mode)" = auto ] || fail "leg A does not record read_mode auto"
# a bad value changes nothing
"$METROCTL" set $V --read-mode copy 2>/dev/null && fail "metroctl set accepted --read-mode copy"
t=$(dmsetup table $V)
dmsetup load $V --table "$(echo "$t" | awk '{print $1, $2, $3, $4, $5}') 2 read_mode copy" 2>/dev/null &&
	fail "the target accepted read_mode copy"
dmesg_has "Invalid read_mode" || fail "the kernel log does not explain the refused read_mode"
[ "$(dmsetup table $V)" = "$t" ] || fail "the refused read_mode changed the table: $(dmsetup table $V)"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
must dmsetup remove rd_b
pass
