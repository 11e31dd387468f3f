#!/bin/bash
# Under a parallel read load both legs of an in-sync volume serve reads;
# a leg much slower than the other (dm-delay) serves hardly any, and
# serves its share again once it is fast again; with write_mostly, only
# the other leg does.
. "$(dirname "$0")/lib.sh"
need_metro

# brd keeps no I/O statistics: put the legs behind dm-linear, which does
linear_leg rb_0 /dev/ram0
linear_leg rb_1 /dev/ram1
A=/dev/mapper/rb_0 B=/dev/mapper/rb_1 V=rb
new_volume $V $A $B
# put data there so reads hit allocated pages
randfile pat 32
must write_file pat /dev/mapper/$V 0
wait_sync $V 30

ra0=$(st_reads_a $V) rb0=$(st_reads_b $V)
sa0=$(blk_stat $A 1) sb0=$(blk_stat $B 1)
show_status $V
must fio --name=rb --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randread \
	--bs=4k --iodepth=16 --numjobs=4 --size=32M --runtime=5 --time_based \
	--group_reporting --output="$METRO_TMP/fio.out"
grep -E 'read:|IOPS' "$METRO_TMP/fio.out" | head -n 3
show_status $V
ra=$(( $(st_reads_a $V) - ra0 )) rb=$(( $(st_reads_b $V) - rb0 ))
sa=$(( $(blk_stat $A 1) - sa0 )) sb=$(( $(blk_stat $B 1) - sb0 ))
log "status reads: leg A +$ra, leg B +$rb; /sys/block stat reads: $A +$sa, $B +$sb"
tot=$((ra + rb))
[ "$tot" -gt 1000 ] || fail "too few reads counted in status ($tot)"
[ $((ra * 10)) -ge "$tot" ] || fail "leg A served under 10% of the reads ($ra of $tot)"
[ $((rb * 10)) -ge "$tot" ] || fail "leg B served under 10% of the reads ($rb of $tot)"
st=$((sa + sb))
[ $((sa * 10)) -ge "$st" ] || fail "$A completed under 10% of the reads ($sa of $st)"
[ $((sb * 10)) -ge "$st" ] || fail "$B completed under 10% of the reads ($sb of $st)"
# the status counters and the devices' own counters roughly agree
[ "$st" -ge $((tot / 2)) ] || fail "ramdisks completed far fewer reads ($st) than status counts ($tot)"
check_file pat /dev/mapper/$V 0 || fail "data read back wrong"

# reads from the volume for $2 s at queue depth $1 x $3 jobs (2); sets ra, rb
read_load() {
	local ra0 rb0
	ra0=$(st_reads_a $V) rb0=$(st_reads_b $V)
	must fio --name=rl --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randread \
		--bs=4k --iodepth="$1" --numjobs="${3:-2}" --size=32M --runtime="$2" --time_based \
		--group_reporting --output="$METRO_TMP/fio-rl.out"
	ra=$(( $(st_reads_a $V) - ra0 )) rb=$(( $(st_reads_b $V) - rb0 ))
	[ $((ra + rb)) -gt 200 ] || fail "too few reads counted ($((ra + rb)))"
}
# Leg B 2 ms away: by in-flight count alone it would get half of the reads
# at queue depth 1; by service time, about one a second
SZ=$(blockdev --getsz /dev/ram1)
reload rb_1 "0 $SZ delay /dev/ram1 0 2"
for qd in 1 16; do
	read_load $qd 3
	log "leg B 2 ms slower, queue depth $qd x 2: reads on leg A +$ra, leg B +$rb"
	[ $((rb * 20)) -le $((ra + rb)) ] || fail "slow leg B served over 5% of the reads at qd $qd ($rb of $((ra + rb)))"
done
check_file pat /dev/mapper/$V 0 || fail "data read back wrong with a slow leg"
# Leg B fast again: measured again within a second, it gets its share back
reload rb_1 "0 $SZ linear /dev/ram1 0"
sleep 2
read_load 16 3
log "leg B fast again: reads on leg A +$ra, leg B +$rb"
[ $((rb * 10)) -ge $((ra + rb)) ] || fail "leg B fast again served under 10% of the reads ($rb of $((ra + rb)))"

# write_mostly: that leg serves no reads while the other can
for wm in B A; do
	metro_opts $V "2 write_mostly $wm"
	dmsetup table $V | grep -q "write_mostly $wm" || fail "write_mostly $wm not in the table: $(dmsetup table $V)"
	read_load 16 3 4
	log "write_mostly $wm: reads on leg A +$ra, leg B +$rb"
	[ $((ra + rb)) -gt 1000 ] || fail "too few reads counted with write_mostly $wm ($((ra + rb)))"
	if [ $wm = B ]; then
		[ "$rb" = 0 ] || fail "write_mostly B: leg B served $rb reads"
	else
		[ "$ra" = 0 ] || fail "write_mostly A: leg A served $ra reads"
	fi
done
check_file pat /dev/mapper/$V 0 || fail "data read back wrong with write_mostly"
must mc stop $V
pass
