#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install everything building and testing dm-metro needs on Debian 12, then
# fetch the Debian kernel image matching the installed headers into the
# checkout's build dir (the test VM boots it).  Run as root; idempotent.
#
#   tests/deps.sh               packages + kernel image
#   tests/deps.sh --kernel-only only the kernel image (no apt-get install)
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${METRO_BUILD:-$TOP/build}

# The one package list.
PACKAGES=(
	# building
	build-essential pkg-config linux-headers-amd64 kmod sparse clang
	# pahole: BTF for modules built against the 6.12 headers (build-compat.sh)
	dwarves
	libdevmapper-dev libjson-c-dev libblkid-dev libudev-dev
	# make deb: the Debian packages, DKMS (also the dkms_package VM case)
	debhelper dh-dkms dkms lintian
	# unit tests
	libcmocka-dev
	# checkpatch.pl; the debug kernel of make check-debug
	linux-source-6.1 perl bc bison flex libelf-dev libssl-dev xz-utils
	# VM tests, demo, benchmarks
	qemu-system-x86 busybox-static cpio fio dmsetup e2fsprogs xfsprogs
	nbd-server nbd-client python3 jq util-linux coreutils
	# benchmarks (make bench): md raid1, DRBD 8.4 between two sites, the chart
	mdadm drbd-utils gnuplot-nox
	# metroctl_udev case (udevd in the guest)
	udev
	# the cluster stack of the two-site cluster cases (tests/two-site/lib.sh):
	# corosync, the witness (qdevice at the sites, qnetd at a third guest),
	# the kernel DLM's daemon, GFS2
	corosync corosync-qdevice corosync-qnetd dlm-controld gfs2-utils
)

log() { echo "deps: $*"; }

kernel_only=0
[ "${1:-}" = --kernel-only ] && kernel_only=1

if [ "$kernel_only" = 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "deps: run as root" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	apt-get update
	log "apt-get install ${PACKAGES[*]}"
	apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi

# The kernel image matching the newest installed Debian headers (the same
# choice as the top-level Makefile's KDIR), or $METRO_KVER as tests/vm/run.sh
# boots it.
hdr=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
kver=${METRO_KVER:-${hdr#/usr/src/linux-headers-}}
[ -n "$kver" ] || { echo "deps: no /usr/src/linux-headers-*-amd64 installed" >&2; exit 1; }
kdir=$BUILD/kernel/$kver

# A tree is complete when it has the stamp .fetched, written last into a
# temporary tree that is then renamed to $kdir: $kdir never exists half
# made, and tests/vm/run.sh boots it without taking the lock.  Several runs
# starting at once (two sites, METRO_JOBS boots) fetch one at a time under
# the lock; the others then find the stamp.
mkdir -p "$BUILD/kernel"
exec 9> "$BUILD/kernel/.lock"
if ! flock -n 9; then
	log "waiting for another fetch of the kernel image ($BUILD/kernel/.lock)"
	flock -w 900 9 || { echo "deps: $BUILD/kernel/.lock held for 15 minutes: is a fetch hung?" >&2; exit 1; }
fi
if [ -f "$kdir/.fetched" ]; then
	log "kernel image $kver already in $kdir"
	exit 0
fi
# Under the lock any work directory is a killed fetch's.
rm -rf "$BUILD/kernel/.fetch-"*
work=$(mktemp -d "$BUILD/kernel/.fetch-$kver.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "fetching linux-image-$kver into $kdir"
mkdir "$work/deb"
# apt-get download run by root writes as its _apt user, and downloads as
# root with a warning when that user cannot write the directory
chmod 755 "$work"
[ "$(id -u)" = 0 ] && chown _apt "$work/deb"
( cd "$work/deb" && apt-get download "linux-image-$kver" ) || {
	log "apt-get download failed; trying after apt-get update"
	apt-get update >/dev/null
	( cd "$work/deb" && apt-get download "linux-image-$kver" )
}
deb=$(ls "$work"/deb/linux-image-"$kver"_*.deb)
dpkg-deb -x "$deb" "$work/tree"
depmod -b "$work/tree" "$kver"
dpkg-deb -f "$deb" Package Version > "$work/tree/.fetched"
# A tree without the stamp (an older deps.sh's) is replaced; none is
# booted from, so nothing is copying from it.
[ -e "$kdir" ] && mv -T "$kdir" "$work/old"
mv -T "$work/tree" "$kdir"
log "kernel $kver ready: $kdir/boot/vmlinuz-$kver"
