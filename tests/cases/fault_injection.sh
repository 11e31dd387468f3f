#!/bin/bash
# Kernel fault injection (debug kernel only: make check-debug).
# FAIL_MAKE_REQUEST fails every bio to one leg, then the other, during
# writes, reads, a resync and metadata commits: the failing leg is detached
# and no acknowledged data is lost.  FAILSLAB fails slab allocations made
# by dmsetup while it loads tables and by the writer during I/O: clean
# errors, no oops, no leak (the harness checks kmemleak after the case).
. "$(dirname "$0")/lib.sh"
need_metro

D=/sys/kernel/debug
mountpoint -q $D || mount -t debugfs debugfs $D 2>/dev/null
[ -d $D/fail_make_request ] && [ -d $D/failslab ] ||
	skip "no FAIL_MAKE_REQUEST/FAILSLAB in this kernel (run make check-debug)"
F=$D/fail_make_request S=$D/failslab
for x in $F $S; do
	echo 0 > $x/verbose
	echo 0 > $x/interval
	echo -1 > $x/times
	echo 0 > $x/space
done
echo 100 > $F/probability
A=/dev/ram0 B=/dev/ram1 V=fi
mif() { echo "$2" > "/sys/block/$(basename "$1")/make-it-fail"; }

must mc create $V $A $B --assume-clean --region-size 1M
wait_node /dev/mapper/$V
randfile base 64
must write_file base /dev/mapper/$V 0

# 1. leg B fails every bio during writes into new and old regions
mif $B 1
randfile p1 16
must write_file p1 /dev/mapper/$V 64
mif $B 0
[ "$(st_health $V)" = AD ] || fail "leg B not detached after failing bios: $(st_health $V)"
check_file p1 /dev/mapper/$V 64 || fail "data written while leg B failed reads back wrong"
must mc restore $V B
wait_sync $V 120

# 2. leg A fails every bio during reads: retried on B, A detached
mif $A 1
cmp <(dd if=/dev/mapper/$V bs=1M count=64 iflag=direct status=none) base ||
	fail "reads while leg A fails return wrong data"
mif $A 0
[ "$(st_health $V)" = DA ] || fail "leg A not detached after failing reads: $(st_health $V)"
randfile p2 8
must write_file p2 /dev/mapper/$V 90
must mc restore $V A
wait_sync $V 120

# 3. the resync target fails mid-resync
mif $B 1
must write_file p2 /dev/mapper/$V 100	# detaches B
mif $B 0
randfile p3 24
must write_file p3 /dev/mapper/$V 0
must dmsetup message $V 0 resync_rate 2048
must mc restore $V B
sleep 2
mif $B 1
sleep 2
mif $B 0
[ "$(st_health $V)" = AD ] || fail "the resync target was not detached: $(st_health $V)"
must dmsetup message $V 0 resync_rate 0
must mc restore $V B
wait_sync $V 120
check_file p3 /dev/mapper/$V 0 || fail "data lost across a failure during resync"
check_file p2 /dev/mapper/$V 100 || fail "data lost across a failure during resync"
must mc stop $V
legs_identical $A $B || fail "legs differ after the bio failures"

# Processes under FAILSLAB must not touch the 9p root file system (the v9fs
# client does not survive its own allocation failures: later execs fail),
# so they run from copies in tmpfs: a static busybox, and dmsetup with its
# libraries started through the dynamic loader.
FS=$METRO_TMP/fs
mkdir -p $FS
cp /bin/busybox $FS/ || skip "no /bin/busybox (busybox-static)"
dms=$(command -v dmsetup)
for f in "$dms" $(ldd "$dms" | awk '$2 == "=>" {print $3} $1 ~ /^\/.*ld-linux/ {print $1}'); do
	cp -L "$f" $FS/ || fail "cannot copy $f to tmpfs"
done
LD=$(ls $FS/ld-linux*.so.* | head -n 1)
# faily CMD...: run CMD (from tmpfs) with make-it-fail set
faily() { $FS/busybox sh -c 'echo 1 > /proc/self/make-it-fail && exec "$@"' sh "$@"; }
tdm() { faily "$LD" --inhibit-cache --library-path $FS $FS/dmsetup "$@"; }
must tdm version

# 4. FAILSLAB: allocations of dmsetup loading tables fail at random
echo N > $S/ignore-gfp-wait
echo Y > $S/task-filter
echo 10 > $S/probability
sz=$(data_size $A)
ok=0 refused=0
for i in $(seq 60); do
	if tdm create fs --table "0 $sz metro $A $B" > /dev/null 2>&1; then
		ok=$((ok + 1))
		dmsetup remove fs || fail "cannot remove a volume created under failslab"
	else
		refused=$((refused + 1))
		dmsetup remove fs >/dev/null 2>&1
	fi
done
log "table loads under failslab: $ok created, $refused refused"
[ $refused -gt 0 ] || fail "failslab never made a table load fail: the test tests nothing"
[ $ok -gt 0 ] || log "no table load got through at this probability"
dmesg_has "metro: Cannot allocate\|metro: .*allocate" && log "the constructor reported allocation failures"

# 5. FAILSLAB: the writer's allocations fail during direct I/O (bio clones
#    come from mempools and must not fail); whatever dd reports, the volume
#    stays consistent
must mc assemble $V $A $B
wait_node /dev/mapper/$V
faily $FS/busybox dd if=/dev/urandom of=/dev/mapper/$V bs=64k count=800 seek=100 oflag=direct ||
	log "dd under failslab failed (its own allocations): fine"
echo 0 > $S/probability
echo N > $S/task-filter
[ "$(st_health $V)" = AA ] || fail "a leg was detached by allocation failures: $(st_health $V)"
randfile p4 8
must write_file p4 /dev/mapper/$V 20
check_file p4 /dev/mapper/$V 20 || fail "data wrong after failslab"
must mc stop $V
legs_identical $A $B || fail "legs differ after failslab"
[ -w "${KMEMLEAK:-/nonexistent}" ] && sleep 6
pass
