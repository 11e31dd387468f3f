#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the test VM as PID 1 after switch_root (the host's userland,
# read-only over 9p).  Parameters come from the kernel command line:
#   metro.src=DIR        the checkout (same path as on the host)
#   metro.cases=A,B,...  case names (tests/cases/NAME.sh)
#   metro.timeout=S      per-case timeout (default 300)
#   metro.env=K=V        exported to the cases (repeatable)
# For each case it prints one TAP-like line on the console:
#   ok - NAME | not ok - NAME | ok - NAME # SKIP reason
# and the case's output prefixed with "# NAME: ".  A kernel WARN/BUG/oops
# in dmesg during a case fails it, and so does, on a kernel with kmemleak
# (the debug kernel), a leak report naming dm-metro or the dm code it uses.
# Then it powers the VM off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C LC_ALL=C
# no udev in the VM: libdevmapper (dmsetup, metroctl) makes the /dev/mapper nodes
export DM_DISABLE_UDEV=1

src= cases= timeout=300
for w in $(cat /proc/cmdline); do
	case "$w" in
	metro.src=*) src=${w#*=} ;;
	metro.cases=*) cases=${w#*=} ;;
	metro.timeout=*) timeout=${w#*=} ;;
	metro.env=*) export "${w#metro.env=}" ;;
	esac
done

poweroff_now() {
	sync
	echo "# metro-vm: powering off"
	echo o > /proc/sysrq-trigger
	sleep 10
	echo b > /proc/sysrq-trigger
}

cd / || true
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config 2>/dev/null
mkdir -p /dev/shm /dev/pts /mnt
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
# nap SECONDS: sleep without a fork (see sleep() in tests/cases/lib.sh):
# the watch over a running case wakes every 0.2 s
if exec {NAP_FD}<> <(:); then
	nap() { read -r -t "$1" -u "$NAP_FD" _ || :; }
else
	nap() { sleep "$1"; }
fi

mount -t tmpfs tmpfs /dev/shm 2>/dev/null
mount -t devpts devpts /dev/pts 2>/dev/null
case "$src" in /mnt/*) ;; *) mount -t tmpfs tmpfs /mnt 2>/dev/null ;; esac
echo 1 > /proc/sys/kernel/sysrq
hostname metro-vm 2>/dev/null
# a directory shared with the host and the other site (run.sh --share)
if [ -n "${METRO_SHARE:-}" ]; then
	mkdir -p "$METRO_SHARE"
	mount -t 9p -o trans=virtio,version=9p2000.L,cache=none metroshare "$METRO_SHARE" ||
		echo "# metro-vm: cannot mount the shared directory at $METRO_SHARE"
fi
# loopback up: NBD and NVMe/TCP legs over 127.0.0.1
/usr/sbin/ip link set lo up 2>/dev/null || /sbin/ip link set lo up 2>/dev/null

# Kernel log patterns that fail a case.
BAD_DMESG='WARNING:|BUG:|Oops|Call Trace|general protection fault|kernel BUG|UBSAN|KASAN|list_add corruption|list_del corruption|refcount_t:|INFO: task .* blocked|stack-protector|double fault|Kernel panic'
# bad_dmesg: the kernel log lines that fail a case.  A user-space crash
# ("traps: PROG[PID] general protection fault ... in LIB", e.g. ld.so of a
# program run under failslab by fault_injection) is not a kernel problem.
#
# One kernel warning is not a problem either: the DLM of Debian's 6.1
# saves a message received during lockspace recovery into an entry
# allocated with room for the whole message, but declared with a
# fixed-size last member, and FORTIFY_SOURCE warns "memcpy: detected
# field-spanning write ... at fs/dlm/requestqueue.c" (the copy is in
# bounds; newer kernels declare the member flexible).  Its report, from
# that line to its "end trace", is left out; any other warning counts.
bad_dmesg() {
	dmesg | grep -Ev '\] traps: [^ ]+\[[0-9]+\] ' |
		awk '/memcpy: detected field-spanning write .* at fs\/dlm\/requestqueue\.c/ { skip = 1 }
		     !skip { print } /---\[ end trace/ { skip = 0 }' |
		grep -E "$BAD_DMESG"
}

echo "# metro-vm: kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)"

# kmemleak (debug kernel only): forget what boot left, check after each case.
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
export KMEMLEAK=/sys/kernel/debug/kmemleak
[ -w "$KMEMLEAK" ] && echo clear > "$KMEMLEAK" 2>/dev/null
# leak reports that count: allocated by dm-metro or on its behalf
KMEMLEAK_OURS='metro_|dm_metro|kcopyd|dm_io|dm_table|dm_get_device|bioset|mempool'
kmemleak_check() {	# kmemleak_check NAME: 1 when a relevant leak was reported
	[ -w "$KMEMLEAK" ] || return 0
	echo scan > "$KMEMLEAK" 2>/dev/null
	echo scan > "$KMEMLEAK" 2>/dev/null
	local bad=0
	if grep -q . "$KMEMLEAK" 2>/dev/null; then
		sed "s/^/# $1: kmemleak: /" "$KMEMLEAK" | head -n 200
		grep -Eq "$KMEMLEAK_OURS" "$KMEMLEAK" && bad=1
	fi
	echo clear > "$KMEMLEAK" 2>/dev/null
	return $bad
}
modprobe virtio_blk 2>/dev/null
modprobe dm-mod || echo "# metro-vm: modprobe dm-mod failed"
export METRO_MODULE_OK=0
if modprobe dm-metro 2>/tmp/modprobe.err; then
	METRO_MODULE_OK=1
else
	echo "# metro-vm: modprobe dm-metro failed: $(cat /tmp/modprobe.err)"
fi
dmesg | grep -i 'metro' | grep -v 'ommand line' | sed 's/^/# metro-vm: /'
if bad_dmesg > /dev/null; then
	echo "# metro-vm: kernel warnings before any case:"
	dmesg | sed 's/^/# metro-vm: dmesg: /'
fi

export METRO_IN_VM=1 METRO_SRC=$src
export METROCTL=$src/userspace/metroctl
export METRO_CASES_DIR=${METRO_CASES_DIR:-$src/tests/cases}

# Fresh ramdisks and no leftover dm devices for every case.
reset_devices() {
	local m
	for m in $(awk '$2 ~ "^/mnt/" {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	# A case that failed may leave a leg suspended with bios held: resume
	# everything first, or removing a volume above it waits for them.
	local d
	for d in $(dmsetup ls 2>/dev/null | awk '$1 != "No" {print $1}'); do
		dmsetup resume "$d" >/dev/null 2>&1
	done
	dmsetup remove_all --force >/dev/null 2>&1
	dmsetup remove_all --force >/dev/null 2>&1
	modprobe -r brd 2>/dev/null
	modprobe brd rd_nr="${METRO_RD_NR:-8}" rd_size="${METRO_RD_SIZE:-131072}" ||
		echo "# metro-vm: modprobe brd failed"
	# brd's nodes appear in devtmpfs; wait for them anyway
	local i
	for i in $(seq 50); do [ -b /dev/ram0 ] && break; sleep 0.1; done
}

run_case() {
	local name=$1 script=$METRO_CASES_DIR/$1.sh
	local out=/tmp/case-$name.out rc pid t=0 killed=0
	if [ ! -f "$script" ]; then
		echo "not ok - $name # no such case $script"
		return
	fi
	reset_devices
	dmesg -C
	export METRO_CASE=$name METRO_TMP=/tmp/work-$name
	rm -rf "$METRO_TMP"; mkdir -p "$METRO_TMP"
	echo "# metro-vm: --- $name (timeout ${timeout}s) ---"
	local start=$SECONDS
	cd "$METRO_TMP" && setsid bash "$script" > >(exec sed -u "s/^/# $name: /") 2>&1 < /dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ $((SECONDS - start)) -ge "$timeout" ]; then
			killed=1
			echo "# metro-vm: $name timed out after ${timeout}s; killing it"
			kill -TERM -- "-$pid" 2>/dev/null
			sleep 3
			kill -KILL -- "-$pid" 2>/dev/null
			break
		fi
		nap 0.2
	done
	if [ "$killed" = 1 ]; then
		for t in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		if kill -0 "$pid" 2>/dev/null; then
			echo "# metro-vm: $name is stuck (uninterruptible?); blocked tasks:"
			echo w > /proc/sysrq-trigger
			rc=124
		else
			wait "$pid"; rc=124
		fi
	else
		wait "$pid"; rc=$?
	fi
	sleep 0.2	# let the sed prefixer drain
	local dur=$((SECONDS - start)) bad= leak=
	if bad_dmesg > /dev/null; then
		bad=1
	fi
	kmemleak_check "$name" || leak=1
	if [ "$rc" = 0 ] && [ -z "$bad$leak" ]; then
		echo "ok - $name # ${dur}s"
	elif [ "$rc" = 77 ] && [ -z "$bad$leak" ]; then
		local why
		why=$(cat "$METRO_TMP/skip-reason" 2>/dev/null | head -n 1)
		echo "ok - $name # SKIP ${why:-skipped}"
	else
		local why="exit status $rc" reason
		[ "$rc" = 124 ] && why="timed out after ${timeout}s"
		reason=$(head -n 1 "$METRO_TMP/fail-reason" 2>/dev/null)
		[ -n "$reason" ] && why="$why: $reason"
		[ -n "$bad" ] && why="$why; kernel warning/oops in dmesg"
		[ -n "$leak" ] && why="$why; kmemleak reported a leak"
		echo "# metro-vm: dmesg of $name:"
		dmesg | tail -n 80 | sed "s/^/# $name: dmesg: /"
		if [ -n "$bad" ]; then
			bad_dmesg | head -n 10 | sed "s/^/# $name: bad dmesg line: /"
			# the first report whole: from its first bad line to its end
			dmesg | awk -v re="$BAD_DMESG" '!on && $0 ~ re { on = 1 }
				on { print; if (++n >= 60 || /---\[ end trace/) exit }' |
				sed "s/^/# $name: dmesg report: /"
		fi
		echo "not ok - $name # $why (${dur}s)"
	fi
}

IFS=, read -r -a list <<< "$cases"
for c in "${list[@]}"; do
	[ -n "$c" ] && run_case "$c"
done
reset_devices >/dev/null 2>&1
echo "# metro-vm: done"
poweroff_now
