#!/bin/bash
# Bad metroctl command lines fail with a message and change nothing.
. "$(dirname "$0")/lib.sh"
need_metro
M=$METROCTL

# ram0, ram1: random, no superblock; ram2+ram3: volume v1 (stopped);
# ram4+ram7: volume v2 (stopped); ram5: held by dm-linear 'tiny' (1 MiB);
# ram6: ext2, mounted; a regular file.
must dd if=/dev/urandom of=/dev/ram0 bs=1M count=2 status=none
must dd if=/dev/urandom of=/dev/ram1 bs=1M count=2 status=none
must mc create v1 /dev/ram2 /dev/ram3 --assume-clean
must mc stop v1
must mc create v2 /dev/ram4 /dev/ram7 --assume-clean
must mc stop v2
must dmsetup create tiny --table "0 2048 linear /dev/ram5 0"
wait_node /dev/mapper/tiny
must /sbin/mke2fs -q -F /dev/ram6
mkdir -p /mnt/m && must mount /dev/ram6 /mnt/m
truncate -s 256M "$METRO_TMP/file"

sums() {
	local d
	for d in /dev/ram0 /dev/ram1 /dev/ram2 /dev/ram3 /dev/ram4 /dev/ram5 /dev/ram7; do
		echo "$d $(sum_range $d 0 4096)"
	done
	md5sum "$METRO_TMP/file"
	dmsetup ls | sort
}
sums > before

nbad=0
# bad CMD...: must exit non-zero (not by a signal) with a message on stderr
bad() {
	"$M" "$@" > out 2> err
	local rc=$?
	if [ $rc = 0 ]; then
		echo "ACCEPTED: metroctl $*"; nbad=$((nbad + 1))
	elif [ $rc -ge 128 ]; then
		echo "CRASHED ($rc): metroctl $*"; nbad=$((nbad + 1))
	elif [ ! -s err ]; then
		echo "NO MESSAGE ($rc): metroctl $*"; nbad=$((nbad + 1))
	else
		echo "refused ($rc): metroctl $*: $(head -n 2 err | tr '\n' ' ')"
	fi
}
bad
bad frobnicate
bad --bogus status
bad create
bad create x
bad create x /dev/ram0
bad create x /dev/ram0 /dev/ram1 extra
bad create --bogus x /dev/ram0 /dev/ram1
bad create x /dev/ram0 /dev/ram1 --region-size
bad create x /dev/ram0 /dev/ram1 --region-size 3M
bad create x /dev/ram0 /dev/ram1 --region-size abc
bad create x /dev/ram0 /dev/ram1 --region-size 0
bad create x /dev/ram0 /dev/ram1 --region-size -4K
bad create x /dev/ram0 /dev/ram1 --region-size 2K
bad create x /dev/ram0 /dev/ram1 --region-size 2G
bad create x /dev/ram0 /dev/ram0
bad create x /dev/ram0 /dev/nonexistent
bad create x /dev/nonexistent /dev/ram1
bad create x /dev/ram0 "$METRO_TMP/file"
bad create x /dev/mapper/tiny /dev/ram1
bad create x /dev/ram5 /dev/ram1
bad create x /dev/ram5 /dev/ram1 --force
bad create x /dev/ram0 /dev/ram6
bad create x /dev/ram0 /dev/ram6 --force
bad create "a/b" /dev/ram0 /dev/ram1
bad create "" /dev/ram0 /dev/ram1
bad create "with space" /dev/ram0 /dev/ram1
bad create "$(printf 'n%.0s' $(seq 70))" /dev/ram0 /dev/ram1
bad create v1 /dev/ram2 /dev/ram3
bad assemble
bad assemble v1 /dev/ram2
bad assemble v1 /dev/ram2 /dev/ram3 extra
bad assemble v1 /dev/ram2 /dev/ram2
bad assemble x /dev/ram2 /dev/ram7
bad assemble x /dev/ram4 /dev/ram3
bad assemble x /dev/ram0 /dev/ram1
bad assemble x /dev/ram2 /dev/nonexistent
bad stop
bad stop nosuchvolume
bad stop tiny
bad stop v1 extra
bad status nosuchvolume
bad status --bogus
bad examine
bad examine /dev/ram0
bad examine /dev/nonexistent
bad examine "$METRO_TMP/file"

sums > after
if ! cmp -s before after; then
	diff before after
	fail "a refused metroctl command changed a device or the dm device list"
fi
[ $nbad = 0 ] || fail "$nbad bad command line(s) not refused properly"
# the good forms work (the refusals above were not for another reason)
must mc examine /dev/ram2 > /dev/null
must mc assemble v1 /dev/ram2 /dev/ram3
must mc stop v1
umount /mnt/m
pass
