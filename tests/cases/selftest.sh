#!/bin/bash
# Harness self-test: brd + dm-linear + dmsetup + fio, no dm-metro needed.
. "$(dirname "$0")/lib.sh"
echo hello from $(uname -r)
ls -l /dev/ram0
dmsetup create st --table "0 65536 linear /dev/ram0 0"
ls -l /dev/mapper/ /dev/dm-* ; cat /proc/partitions
fio --name=t --filename=/dev/mapper/st --rw=randwrite --bs=4k --size=16M --direct=1 --verify=crc32c --ioengine=libaio --iodepth=8 --runtime=5 --output-format=terse >/dev/null || fail "fio"
dmsetup remove st
pass
