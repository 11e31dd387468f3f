#!/bin/bash
# read_mode auto, the default: the reads of a leg that can stall go
# through bounce pages (abandoned at the I/O deadline), those of a local
# leg straight into the reader's pages.  metroctl names the legs across a
# network from their transports (here NVMe/TCP on the guest's loopback) on
# every table line it loads; the write-mostly leg and failfast legs bounce
# as well, and bounce:A|B bounces exactly that leg.
#  1. two ramdisks: no leg bounces; write_mostly B bounces leg B; bounce:A
#     as set, shown by status and examine, loaded again by assemble; auto
#     back; a bad value changes nothing;
#  2. leg B over NVMe/TCP: "read_mode auto:B" in the table without asking;
#     with write_mostly A (every read to leg B first) reads caught in a
#     stall of leg B are abandoned at the deadline and served by leg A,
#     and leg B's late completions write nothing into the reader's buffers.
. "$(dirname "$0")/lib.sh"
need_metro
# nvmet-tcp's queue release trips a lockdep report of its own (failfast.sh)
[ -e /proc/lockdep ] && skip "lockdep kernel: nvmet-tcp reports a circular locking dependency of its own"
[ -x "$TOOLS/late_read" ] || fail "$TOOLS/late_read not built: run 'make tools' on the host"

V=ra NQN=nqn.2026-12.org.dm-metro:readauto
cleanup() {
	dmsetup resume ra_b 2>/dev/null
	dmsetup remove $V 2>/dev/null
	nvme_disconnect $NQN
	nvmet_remove $NQN
	dmsetup remove ra_b 2>/dev/null
}
trap cleanup EXIT
recorded() { examine_json "$1" | jq -r ".table_options.$2"; }
live() { status_json $V | jq -r ".table_options.$1"; }

# 1. local legs
new_volume $V /dev/ram0 /dev/ram1 --region-size 1M
t=$(dmsetup table $V)
grep -q read_mode <<<"$t" && fail "read_mode in the table of two local legs: $t"
[ "$(live read_mode)" = auto ] || fail "status --json: read_mode $(live read_mode), not auto"
[ "$(live reads_bounced)" = null ] || fail "the reads of local legs are bounced: $(live reads_bounced)"
tr=$(status_json $V | jq -r '.legs[0].transport + " " + .legs[1].transport')
[ "$tr" = "local local" ] || fail "ramdisks taken for remote legs: $tr"
must mc set $V --write-mostly B
[ "$(live reads_bounced)" = B ] || fail "auto does not bounce the write-mostly leg B: $(live reads_bounced)"
must mc set $V --write-mostly none --read-mode bounce:A
dmsetup table $V | grep -q "read_mode bounce:A" || fail "read_mode bounce:A not in the table: $(dmsetup table $V)"
[ "$(live reads_bounced)" = A ] || fail "bounce:A bounces $(live reads_bounced)"
[ "$(recorded /dev/ram0 read_mode) $(recorded /dev/ram0 read_mode_legs)" = "bounce A" ] ||
	fail "leg A records $(recorded /dev/ram0 read_mode) $(recorded /dev/ram0 read_mode_legs), not bounce A"
fio_verify_write /dev/mapper/$V 16M 16M || fail "fio verify with leg A's reads bounced"
must mc stop $V
must mc assemble $V /dev/ram0 /dev/ram1
wait_node /dev/mapper/$V
dmsetup table $V | grep -q "read_mode bounce:A" || fail "assemble did not load read_mode bounce:A: $(dmsetup table $V)"
"$METROCTL" set $V --read-mode auto:B 2>/dev/null && fail "metroctl set accepted --read-mode auto:B (auto finds the legs itself)"
t=$(dmsetup table $V)
dmsetup load $V --table "$(echo "$t" | awk '{print $1, $2, $3, $4, $5}') 2 read_mode bounce:C" 2>/dev/null &&
	fail "the target accepted read_mode bounce:C"
dmesg_has "Invalid read_mode" || fail "the kernel log does not explain the refused read_mode"
[ "$(dmsetup table $V)" = "$t" ] || fail "the refused read_mode changed the table: $(dmsetup table $V)"
must mc set $V --read-mode auto
dmsetup table $V | grep -q read_mode && fail "read_mode auto of local legs shown in the table: $(dmsetup table $V)"
[ "$(recorded /dev/ram0 read_mode)" = auto ] || fail "leg A records $(recorded /dev/ram0 read_mode), not auto"
must mc stop $V
legs_identical /dev/ram0 /dev/ram1 || fail "the local legs differ"

# 2. leg B over NVMe/TCP
linear_leg ra_b /dev/ram3
nvmet_export /dev/mapper/ra_b $NQN 127.0.0.1
nvme_connect $NQN 127.0.0.1
A=/dev/ram2 B=$RLEG
must mc create $V $A $B --assume-clean --region-size 1M --io-deadline 1000 --write-mostly A
wait_node /dev/mapper/$V
dmsetup table $V | grep -q "write_mostly A read_mode auto:B" ||
	fail "metroctl did not name leg B ($B, NVMe/TCP) remote: $(dmsetup table $V)"
[ "$(status_json $V | jq -r '.legs[1].transport')" = nvme-tcp ] ||
	fail "status --json: leg B's transport is $(status_json $V | jq -r '.legs[1].transport')"
[ "$(live reads_bounced)" = AB ] || fail "write_mostly A and remote B: $(live reads_bounced) bounced, not AB"
# auto's legs are this node's finding, not a setting: not recorded
[ "$(recorded $A read_mode) $(recorded $A read_mode_legs)" = "auto null" ] ||
	fail "leg A records $(recorded $A read_mode) $(recorded $A read_mode_legs), not auto alone"
randfile base 8
must write_file base /dev/mapper/$V 0
must dmsetup suspend --noflush ra_b
late_read_start /dev/mapper/$V "reads waited for the stalled remote leg"
[ "$(st_health $V)" = AD ] || fail "leg B not detached by the stalled read: $(st_health $V)"
must dmsetup resume ra_b	# the held reads complete now, late
late_read_finish
check_file base /dev/mapper/$V 0 || fail "data reads back wrong after the stall"
for i in $(seq 60); do
	timeout 5 dd if=$B of=/dev/null bs=4k count=1 iflag=direct status=none && break
	sleep 0.5
done
must mc restore $V B
wait_sync $V 60
dmsetup table $V | grep -q "read_mode auto:B" || fail "restore lost read_mode auto:B: $(dmsetup table $V)"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
pass
