#!/bin/bash
# Run: tests/vm/run.sh metroctl_udev
# metroctl with udevd running: cookies, 60-dm-metro.rules symlinks and
# assembly by "metroctl incremental" from udev events.
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
udevadm control --exit
pass
