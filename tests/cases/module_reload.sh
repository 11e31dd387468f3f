#!/bin/bash
# Volumes are created, used and removed repeatedly under I/O, tables are
# refused, and the module is unloaded and reloaded: everything works again
# afterwards, and on the debug kernel (make check-debug) kmemleak finds no
# leak (the harness scans after the case).
. "$(dirname "$0")/lib.sh"
need_metro

A=/dev/ram0 B=/dev/ram1 V=mr
must mc create $V $A $B --assume-clean --region-size 1M
must mc stop $V
sz=$(data_size $A)
for i in 1 2 3 4 5 6; do
	must mc assemble $V $A $B
	wait_node /dev/mapper/$V
	fio --name=mr --filename=/dev/mapper/$V --ioengine=libaio --direct=1 --rw=randrw \
		--bs=4k --iodepth=8 --size=64M --runtime=2 --time_based --output=/dev/null ||
		fail "fio failed in round $i"
	must dmsetup message $V 0 resync_rate 1000
	[ $i = 3 ] && must dmsetup message $V 0 pause_resync
	must mc stop $V
	# refused tables take the constructor's error paths
	run dmsetup create ${V}x --table "0 $sz metro $A /dev/ram7" && fail "table with a blank leg accepted"
	run dmsetup create ${V}x --table "0 $sz metro $A $B 2 bogus 1" && fail "table with a bad option accepted"
	run dmsetup create ${V}x --table "0 $((sz + 8)) metro $A $B" && fail "table longer than the data area accepted"
done
for i in 1 2 3; do
	must modprobe -r dm-metro
	grep -qw metro <(dmsetup targets) && fail "metro target still registered after unload"
	must modprobe dm-metro
done
must mc assemble $V $A $B
wait_node /dev/mapper/$V
fio_verify_write /dev/mapper/$V 0 32M || fail "fio verify after the reloads"
must mc stop $V
legs_identical $A $B || fail "legs differ"
# kmemleak only reports objects unreferenced for 5 s
[ -w "${KMEMLEAK:-/nonexistent}" ] && sleep 6
pass
