#!/bin/bash
# Run: tests/vm/run.sh metroctl_udev
# metroctl with udevd running: cookies, 60-dm-metro.rules symlinks and
# assembly by "metroctl incremental" from udev events; incremental finds
# the other leg in the udev database, reading no other device (a dead NBD
# device present).
. "$METRO_SRC/tests/cases/lib.sh"
need_metro
M=$METROCTL
[ -x /lib/systemd/systemd-udevd ] || skip "no systemd-udevd"
mkdir -p /run/udev/rules.d
sed "s|@SBINDIR@|$(dirname "$M")|g" "$METRO_SRC/userspace/60-dm-metro.rules" > /run/udev/rules.d/60-dm-metro.rules
cat /run/udev/rules.d/60-dm-metro.rules | grep -v '^#'
/lib/systemd/systemd-udevd --daemon --debug 2>"$METRO_TMP/udevd.log" || fail "udevd did not start"
for i in $(seq 50); do [ -e /run/udev/control ] && break; sleep 0.1; done
[ -e /run/udev/control ] || fail "no /run/udev/control"
must mc create uv /dev/ram0 /dev/ram1 --assume-clean
[ -b /dev/mapper/uv ] || fail "no /dev/mapper/uv after create with udev"
udevadm settle -t 20
ls -l /dev/disk/by-metro-uuid/ || true
must mc status uv
must mc stop uv
udevadm settle -t 20
[ -e /dev/mapper/uv ] && fail "/dev/mapper/uv left after stop"
u=$($M examine --export /dev/ram0 | sed -n 's/^METRO_UUID=//p')
udevadm trigger --action=change --settle /dev/ram0 /dev/ram1 || udevadm trigger --action=change /dev/ram0 /dev/ram1
udevadm settle -t 30
ls -l /dev/disk/by-metro-uuid/ || true
[ -L /dev/disk/by-metro-uuid/$u-A ] || fail "no by-metro-uuid symlink for leg A"
[ -L /dev/disk/by-metro-uuid/$u-B ] || fail "no by-metro-uuid symlink for leg B"
for i in $(seq 50); do [ -b /dev/mapper/uv ] && break; sleep 0.1; done
[ -b /dev/mapper/uv ] || { grep -i metro "$METRO_TMP/udevd.log" | tail -30; fail "udev did not assemble uv"; }
must mc status uv
must mc stop uv
udevadm settle -t 20

# The udev database, with a dead network device present: incremental
# reads only the devices udev records as the other leg, so /dev/nbd0,
# whose server is stopped (SIGSTOP, nbd-client with no timeout), costs it
# nothing, and neither does udev's own run of it.
if command -v nbd-server >/dev/null && command -v nbd-client >/dev/null &&
	modprobe nbd nbds_max=2 2>/dev/null && [ -b /dev/nbd0 ]; then
	printf '[generic]\n\tlistenaddr = 127.0.0.1\n\tport = 10809\n[junk]\n\texportname = /dev/ram2\n' > nbd.conf
	trap 'pkill -CONT -x nbd-server; nbd-client -d /dev/nbd0 >/dev/null 2>&1; pkill -x nbd-server' EXIT
	must nbd-server -C "$METRO_TMP/nbd.conf"
	sleep 1
	must nbd-client 127.0.0.1 10809 /dev/nbd0 -N junk -b 4096
	udevadm settle -t 20
	# held open: no process that gives up on it closes it last (see incremental_dead_dev)
	exec {hold}</dev/nbd0
	echo 3 > /proc/sys/vm/drop_caches
	must pkill -STOP -x nbd-server
	t0=$(date +%s%N)
	out=$(timeout 60 "$M" -v incremental /dev/ram0 2>&1)
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "$out"
	log "incremental with udev and a dead /dev/nbd0: exit $rc after ${ms} ms"
	[ $rc = 0 ] || fail "incremental /dev/ram0 with udev running failed ($rc)"
	grep -q "udev records /dev/ram1 as leg B of 'uv'" <<<"$out" ||
		fail "incremental did not take leg B from the udev database"
	grep -q "did not answer\|every block device" <<<"$out" &&
		fail "incremental read devices the udev database does not record as the leg"
	[ $ms -le 5000 ] || fail "incremental took ${ms} ms with udev running"
	[ -b /dev/mapper/uv ] || fail "incremental did not assemble uv"
	must mc stop uv
	udevadm settle -t 20
	# udev's own run: the rules on a change event of leg A
	t0=$SECONDS
	must udevadm trigger --action=change /dev/ram0
	for i in $(seq 100); do [ -b /dev/mapper/uv ] && break; sleep 0.1; done
	[ -b /dev/mapper/uv ] || { grep -i metro "$METRO_TMP/udevd.log" | tail -30; fail "udev did not assemble uv with /dev/nbd0 dead"; }
	log "udev assembled uv $((SECONDS - t0)) s after the change event, /dev/nbd0 dead"
	must mc stop uv
	udevadm settle -t 20
	must pkill -CONT -x nbd-server
	exec {hold}<&-
else
	log "no NBD: the dead-device part is not run"
fi
udevadm control --exit
pass
