#!/bin/bash
# Flushes and FUA writes on the volume reach both legs.  The legs are
# virtio-blk disks with a volatile write cache (qemu cache=writeback);
# virtio-blk has no native FUA, so the block layer turns a FUA write into
# write + flush, and field 16 of /sys/block/vdX/stat (flush I/Os completed,
# Documentation/admin-guide/iostats.rst) counts the flushes.
# metro-disks: 2
. "$(dirname "$0")/lib.sh"
need_metro

A=$(scratch_disk 0) && B=$(scratch_disk 1) || skip "no scratch virtio disks (run via tests/vm/run.sh)"
# the scratch disks are shared by the cases of one boot: start from blank
for L in $A $B; do must dd if=/dev/zero of=$L bs=1M count=1 oflag=direct status=none; done
log "legs $A $B"
for L in $A $B; do
	wc=$(cat /sys/block/$(blk_name $L)/queue/write_cache)
	[ "$wc" = "write back" ] || fail "$L write_cache is '$wc', the harness should give 'write back'"
done
flushes() { echo "$(blk_stat $A 16) $(blk_stat $B 16)"; }
# sanity check of the counter: fsync straight on each leg (sector 0..7 is
# never used by dm-metro)
set -- $(flushes); a0=$1 b0=$2
must dd if=/dev/zero of=$A bs=4k count=1 conv=fsync,notrunc status=none
must dd if=/dev/zero of=$B bs=4k count=1 conv=fsync,notrunc status=none
set -- $(flushes)
log "fsync on the raw disks: flushes A +$(($1 - a0)) B +$(($2 - b0))"
[ $(($1 - a0)) -ge 1 ] && [ $(($2 - b0)) -ge 1 ] || fail "the flush counter (stat field 16) does not count flushes"
V=ff
must mc create $V $A $B --assume-clean
must mc stop $V
size=$(data_size $A)
# a long clear_delay keeps the bitmap clearer (which flushes) out of the way
must dmsetup create $V --table "0 $size metro $A $B 2 clear_delay 600000"
wait_node /dev/mapper/$V
show_status $V
dmsetup table $V
wc=$(cat /sys/block/$(blk_name /dev/mapper/$V)/queue/write_cache)
[ "$wc" = "write back" ] || fail "the volume's write_cache is '$wc': file systems would never send it flushes"

# mark the regions first, so the writes below need no metadata I/O
must dd if=/dev/urandom of=/dev/mapper/$V bs=1M count=4 oflag=direct status=none
sleep 1

set -- $(flushes); a0=$1 b0=$2
must dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=8 oflag=direct status=none
set -- $(flushes); log "plain O_DIRECT writes: flushes A +$(($1 - a0)) B +$(($2 - b0)) (expected 0)"

set -- $(flushes); a0=$1 b0=$2
must dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=16 conv=fsync status=none
set -- $(flushes); da=$(($1 - a0)) db=$(($2 - b0))
log "buffered write + fsync: flushes A +$da B +$db"
[ $da -ge 1 ] || fail "fsync on the volume sent no flush to leg A"
[ $db -ge 1 ] || fail "fsync on the volume sent no flush to leg B"

set -- $(flushes); a0=$1 b0=$2
must dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=8 seek=16 status=none
# sync(1) with a file argument fsyncs it (plain sync(2) sends no flush to a raw block device)
must sync /dev/mapper/$V
set -- $(flushes); da=$(($1 - a0)) db=$(($2 - b0))
log "buffered write + sync /dev/mapper/$V: flushes A +$da B +$db"
[ $da -ge 1 ] && [ $db -ge 1 ] || fail "sync of the volume did not flush both legs"

N=8
set -- $(flushes); a0=$1 b0=$2
must dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=$N oflag=direct,dsync status=none
set -- $(flushes); da=$(($1 - a0)) db=$(($2 - b0))
log "$N FUA (O_DIRECT|O_DSYNC) writes: flushes A +$da B +$db"
[ $da -ge $N ] || fail "leg A saw $da flushes for $N FUA writes: FUA did not reach it"
[ $db -ge $N ] || fail "leg B saw $db flushes for $N FUA writes: FUA did not reach it"

# 8 separate buffered writes, each followed by fdatasync
set -- $(flushes); a0=$1 b0=$2
for i in $(seq 8); do
	dd if=/dev/urandom of=/dev/mapper/$V bs=4k count=1 seek=$((100 + i)) conv=fdatasync,notrunc status=none ||
		fail "dd conv=fdatasync failed"
done
set -- $(flushes); da=$(($1 - a0)) db=$(($2 - b0))
log "8 writes with fdatasync: flushes A +$da B +$db"
[ $da -ge 8 ] && [ $db -ge 8 ] || fail "fdatasync did not flush both legs for every write"
show_status $V
must dmsetup remove $V
pass
