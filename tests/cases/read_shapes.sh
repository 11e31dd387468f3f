#!/bin/bash
# O_DIRECT reads that do not line up with pages (buffers straddling pages,
# 512-byte segments at odd page offsets, more segments than one bio holds,
# a 1 MiB read at an unaligned device offset) read the bytes written, on
# both legs, in each of the three ways a read reaches a leg: through the
# bounce pages of the I/O deadline (read_mode bounce), passed on as it is
# under the deadline (read_mode direct, and auto on local legs) and passed
# on as it is at io_deadline 0.
. "$(dirname "$0")/lib.sh"
need_metro
[ -x "$TOOLS/odd_reads" ] || fail "$TOOLS/odd_reads not built: run 'make tools' on the host"

A=/dev/ram0 B=/dev/ram1 V=rs
must mc create $V $A $B --assume-clean
wait_node /dev/mapper/$V
metro_opts $V "2 read_mode bounce"
shapes() {	# WHAT
	"$TOOLS/odd_reads" /dev/mapper/$V $((8 << 20)) > "$METRO_TMP/odd.out" 2>&1
	local rc=$?
	sed "s/^/$1: /" "$METRO_TMP/odd.out"
	[ $rc = 0 ] || fail "$1: odd_reads exit status $rc"
}
ra=$(st_reads_a $V) rb=$(st_reads_b $V)
shapes "read_mode bounce (bounce pages)"
# one read at a time: ties alternate, so both legs served some
ra=$(( $(st_reads_a $V) - ra )) rb=$(( $(st_reads_b $V) - rb ))
log "reads served: leg A $ra, leg B $rb"
[ "$ra" -gt 0 ] && [ "$rb" -gt 0 ] || fail "one leg served no read (A $ra, B $rb)"
metro_opts $V "2 read_mode direct"
dmsetup table $V | grep -q 'read_mode direct' || fail "read_mode direct not in the table: $(dmsetup table $V)"
shapes "read_mode direct (zero copy, under the deadline)"
metro_opts $V "2 io_deadline 0"
dmsetup table $V | grep -q 'io_deadline 0' || fail "io_deadline 0 not in the table: $(dmsetup table $V)"
shapes "io_deadline 0 (zero copy)"
legs_identical $A $B || fail "legs differ"
must mc stop $V
pass
