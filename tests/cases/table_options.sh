#!/bin/bash
# Table options set through metroctl stay with the volume: create records
# them, the target records those of the live table in the superblocks,
# assemble and incremental (udev) load them again, assemble's own options
# and metroctl set replace them, examine shows what is recorded and status
# what the live table runs with.
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=topt
# opts_of V: what follows the two legs in the live table
opts_of() { dmsetup table "$1" | cut -d' ' -f6-; }
# expect_opts V WORDS: the live table's options are exactly WORDS
expect_opts() {
	local got
	got=$(opts_of "$1")
	[ "$got" = "$2" ] || fail "table options of $1: '$got', expected '$2'"
	log "table options of $1: '${got}'"
}
# recorded L FIELD: a table option recorded in the superblock of leg L
recorded() { examine_json "$1" | jq -r ".table_options.$2"; }

must mc create $V $A $B --assume-clean --region-size 1M --write-mostly B --io-deadline 30000
wait_node /dev/mapper/$V
expect_opts $V "4 io_deadline 30000 write_mostly B"
js=$(status_json $V)
[ "$(jq -r .table_options.write_mostly <<<"$js")" = B ] &&
	[ "$(jq -r .table_options.io_deadline_ms <<<"$js")" = 30000 ] ||
	fail "metroctl status --json does not show the live options: $js"
"$METROCTL" status $V | grep -q 'options: io_deadline 30000 ms, write_mostly B' ||
	fail "metroctl status does not show the live options"
randfile pat 8
must write_file pat /dev/mapper/$V 4
must mc stop $V
for L in $A $B; do
	[ "$(recorded $L recorded)" = true ] || fail "$L: no table options recorded"
	[ "$(recorded $L io_deadline_ms)" = 30000 ] || fail "$L: io_deadline $(recorded $L io_deadline_ms) recorded, expected 30000"
	[ "$(recorded $L write_mostly)" = B ] || fail "$L: write_mostly $(recorded $L write_mostly) recorded, expected B"
done
"$METROCTL" examine $A | grep -q 'table options: io_deadline 30000 ms, write_mostly B' ||
	fail "examine does not show the recorded options"

log "assemble loads the recorded options"
must mc assemble $V $A $B
wait_node /dev/mapper/$V
expect_opts $V "4 io_deadline 30000 write_mostly B"
check_file pat /dev/mapper/$V 4 || fail "data wrong after assemble"

log "metroctl set changes them on the live volume and they are recorded at once"
must mc set $V --io-deadline 0 --write-mostly none --resync-rate 20000
expect_opts $V "4 resync_rate 20000 io_deadline 0"
[ "$(st_health $V)" = AA ] || fail "health $(st_health $V) after metroctl set"
for L in $A $B; do
	[ "$(recorded $L io_deadline_ms)" = 0 ] || fail "$L: io_deadline $(recorded $L io_deadline_ms) recorded after set"
	[ "$(recorded $L write_mostly)" = null ] || fail "$L: write_mostly $(recorded $L write_mostly) recorded after set"
	[ "$(recorded $L resync_rate_kib)" = 20000 ] || fail "$L: resync_rate $(recorded $L resync_rate_kib) after set"
done
check_file pat /dev/mapper/$V 4 || fail "data wrong after metroctl set"
must mc stop $V

log "assemble's options replace the recorded ones, the others stay"
must mc assemble $V $A $B --write-mostly A
wait_node /dev/mapper/$V
expect_opts $V "6 resync_rate 20000 io_deadline 0 write_mostly A"
log "a resync_rate message is recorded with the next superblock write (stop)"
must dmsetup message $V 0 resync_rate 0
must mc stop $V
[ "$(recorded $A resync_rate_kib)" = 0 ] || fail "resync_rate $(recorded $A resync_rate_kib) recorded after the message and stop"

log "incremental assembly (udev) loads the recorded options"
must "$METROCTL" incremental $A
must "$METROCTL" incremental $B
wait_node /dev/mapper/$V
expect_opts $V "4 io_deadline 0 write_mostly A"
check_file pat /dev/mapper/$V 4 || fail "data wrong after incremental assembly"

log "a bad option changes nothing"
run "$METROCTL" set $V --io-deadline 5 && fail "metroctl set accepted io_deadline 5"
run "$METROCTL" set nosuchvolume --io-deadline 0 && fail "metroctl set accepted a volume that is not active"
expect_opts $V "4 io_deadline 0 write_mostly A"
must mc stop $V
legs_identical $A $B || fail "legs differ at the end"
pass "options recorded by create, set and the target; loaded by assemble and incremental"
