#!/bin/bash
# Leg B is remote over NBD (nbd-server on the guest's loopback exporting a
# ramdisk).  The server is stopped (SIGSTOP) during writes: NBD has no
# timeout of its own, so without the io_deadline the volume would hang;
# with it, leg B is detached and the writes complete on leg A.  The server
# is continued, its late replies are taken safely, and leg B is restored.
# metroctl finds leg B remote (NBD) and names it in the table (read_mode
# auto:B): its reads are bounced.
. "$(dirname "$0")/lib.sh"
need_metro

command -v nbd-server >/dev/null && command -v nbd-client >/dev/null ||
	skip "nbd-server/nbd-client not installed"
modprobe nbd nbds_max=2 2>/dev/null
[ -b /dev/nbd0 ] || skip "no NBD support in this kernel"
V=ns A=/dev/ram0 B=/dev/nbd0
cat > nbd.conf <<EOC
[generic]
	listenaddr = 127.0.0.1
	port = 10809
[legb]
	exportname = /dev/ram1
EOC
cleanup() {
	pkill -CONT -x nbd-server 2>/dev/null
	dmsetup remove $V 2>/dev/null
	nbd-client -d $B >/dev/null 2>&1
	pkill -x nbd-server 2>/dev/null
}
trap cleanup EXIT
must nbd-server -C "$METRO_TMP/nbd.conf"
sleep 1
must nbd-client 127.0.0.1 10809 $B -N legb -b 4096
[ "$(blockdev --getsz $B)" = "$(blockdev --getsz /dev/ram1)" ] || fail "NBD device has the wrong size"

must mc create $V $A $B --assume-clean --region-size 1M
wait_node /dev/mapper/$V
must mc set $V --io-deadline 2000
dmsetup table $V | grep -q "io_deadline 2000 read_mode auto:B" ||
	fail "metroctl did not name the NBD leg B remote: $(dmsetup table $V)"
randfile base 32
must write_file base /dev/mapper/$V 0

# the remote site stops answering in the middle of a write stream
fio --name=ns --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randwrite \
	--bs=16k --iodepth=8 --offset=40M --size=32M --runtime=8 --time_based \
	--output="$METRO_TMP/fio.out" &
fpid=$!
sleep 2
must pkill -STOP -x nbd-server
t0=$SECONDS
wait $fpid || { cat "$METRO_TMP/fio.out"; fail "writes failed or hung with the NBD server stopped"; }
log "fio done $((SECONDS - t0))s after the server stopped"
[ "$(st_health $V)" = AD ] || fail "leg B not detached: $(st_health $V)"
dmesg | grep -Eq "I/O deadline|did not complete within" || fail "no I/O deadline message in the kernel log"
randfile p2 8
must timeout 20 dd if=p2 of=/dev/mapper/$V bs=1M seek=90 oflag=direct status=none
check_file base /dev/mapper/$V 0 || fail "data wrong with the server stopped"

# the server resumes: its replies to the abandoned requests arrive late
must pkill -CONT -x nbd-server
sleep 2
[ "$(st_health $V)" = AD ] || fail "health changed after the late replies"
check_file p2 /dev/mapper/$V 90 || fail "data wrong after the late replies"
must mc restore $V B
wait_sync $V 120
check_file base /dev/mapper/$V 0 || fail "data wrong after the resync"
check_file p2 /dev/mapper/$V 90 || fail "data wrong after the resync"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
pass
